/**
 * Realtime pokes over the transport's one WebSocket (`/sync/ws`), as PROTOCOL.md says:
 * on hello, push then pull; on a poke ahead of the cursor, pull; no heartbeat for twice the
 * interval: the connection is dead. Any end reconnects with jittered backoff (1 s, 2 s, 4 s …
 * 60 s), except 4401 (refresh the token, then reconnect), 4422 (a client bug) and 4426
 * (update the app). While disconnected it polls every `pollInterval`.
 */

import { backoffMs } from "./http.js";
import { ApiError } from "./problem.js";
import type { SyncClient } from "./sync.js";
import { PROTOCOL_VERSION } from "./sync.js";
import type { Socket } from "./transport.js";

export interface RealtimeOptions {
  /** `wss://host/sync/ws`; default: the HTTP base URL with ws(s) and `/sync/ws`. */
  url?: string;
  /** First reconnect delay, ms (default 1000); doubles up to `maxDelayMs` (60 000). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Poll interval without a connection, ms, until a hello says otherwise (default 60 000). */
  pollMs?: number;
}

export type RealtimeState = "stopped" | "connecting" | "open" | "waiting";

export class Realtime {
  private readonly sync: SyncClient;
  private readonly url: string;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private pollMs: number;
  private socket: Socket | null = null;
  private attempt = 0;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatMs = 50_000;
  private lastCode: string | null = null;
  private lastSupported: number[] = [];
  /** Pokes for scopes a pull did not bring (not ours): version already tried. */
  private readonly unknownScopes = new Map<string, number>();
  state: RealtimeState = "stopped";
  /** Connections opened (tests and diagnostics). */
  connections = 0;

  constructor(sync: SyncClient, options: RealtimeOptions = {}) {
    this.sync = sync;
    this.url = options.url ?? `${sync.http.baseUrl.replace(/^http/, "ws")}/sync/ws`;
    this.minDelay = options.minDelayMs ?? 1000;
    this.maxDelay = options.maxDelayMs ?? 60_000;
    this.pollMs = options.pollMs ?? 60_000;
  }

  start(): void {
    if (this.state !== "stopped") return;
    this.connect();
  }

  stop(): void {
    this.state = "stopped";
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "stop");
  }

  /** The app came to the foreground (wx.onAppShow): push, then pull to the head. */
  foreground(): Promise<void> {
    if (this.state === "waiting") this.reconnectNow();
    return this.sync.sync();
  }

  private clearTimers(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.watchdog = this.retryTimer = this.pollTimer = null;
  }

  private connect(): void {
    const token = this.sync.http.accessToken;
    if (!token) {
      this.state = "stopped";
      return;
    }
    this.state = "connecting";
    this.lastCode = null;
    const url = `${this.url}?token=${encodeURIComponent(token)}&protocol=${PROTOCOL_VERSION}`;
    let socket: Socket | null = null;
    const mine = () => this.socket === socket && socket !== null;
    socket = this.sync.http.transport.connect(url, {
      onOpen: () => undefined,
      onMessage: (text) => {
        if (mine()) this.onFrame(text);
      },
      onClose: (code, reason) => {
        if (mine()) this.onClose(code, reason);
      },
    });
    this.socket = socket;
    this.connections += 1;
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      // No heartbeat for 2 x the interval: treat the connection as dead.
      const socket = this.socket;
      this.socket = null;
      socket?.close(4000, "heartbeat timeout");
      this.scheduleReconnect();
    }, 2 * this.heartbeatMs);
  }

  private onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // not ours to read
    }
    if (frame.type === "hello") {
      this.state = "open";
      this.attempt = 0;
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.pollTimer = null;
      if (typeof frame.heartbeatInterval === "number") this.heartbeatMs = frame.heartbeatInterval * 1000;
      if (typeof frame.pollInterval === "number") this.pollMs = frame.pollInterval * 1000;
      this.armWatchdog();
      this.background(this.sync.sync());
    } else if (frame.type === "poke") {
      this.armWatchdog();
      const scope = String(frame.scope);
      const version = Number(frame.version);
      const local = this.sync.store.cursor()[scope];
      if (local !== undefined && local >= version) return; // already have it
      if (local === undefined && (this.unknownScopes.get(scope) ?? -Infinity) >= version) return;
      this.background(
        this.sync.sync().then(() => {
          if (this.sync.store.cursor()[scope] === undefined) this.unknownScopes.set(scope, version);
        }),
      );
    } else if (frame.type === "heartbeat") {
      this.armWatchdog();
    } else if (frame.type === "error") {
      this.lastCode = typeof frame.code === "string" ? frame.code : null;
      this.lastSupported = Array.isArray(frame.supported) ? frame.supported.map(Number) : [];
    }
  }

  private background(work: Promise<void>): void {
    work.catch((err: unknown) => this.sync.emit("error", err));
  }

  private onClose(code: number, _reason: string): void {
    this.socket = null;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.state === "stopped") return;
    if (code === 4426) {
      this.sync.markUpgrade(this.lastSupported);
      this.stop();
      return;
    }
    if (code === 4422) {
      this.stop();
      return;
    }
    if (code === 4401) {
      this.sync.http.refresh().then(
        () => this.reconnectNow(),
        (err: unknown) => {
          if (err instanceof ApiError) this.sync.emit("authRequired", err);
          this.stop();
        },
      );
      this.state = "waiting";
      return;
    }
    this.scheduleReconnect();
  }

  private reconnectNow(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  private scheduleReconnect(): void {
    if (this.state === "stopped") return;
    this.state = "waiting";
    const delay = Math.min(backoffMs(this.attempt, this.minDelay, this.maxDelay), this.maxDelay);
    this.attempt += 1;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconnectNow(), delay);
    if (!this.pollTimer) {
      this.pollTimer = setInterval(() => this.background(this.sync.sync()), this.pollMs);
    }
  }

  /** The code of the last error frame (why the server refused), if any. */
  get refusal(): string | null {
    return this.lastCode;
  }
}
