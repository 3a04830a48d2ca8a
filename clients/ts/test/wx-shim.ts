/**
 * A fake `wx` for Node that enforces the mini-program platform's rules, so the SDK's WeChat
 * transport and storage run here as they would on a phone:
 * - wx.request / wx.uploadFile: methods WeChat has (no PATCH), at most 10 in flight (the
 *   11th fails as WeChat fails it), timeouts of at most 60 s;
 * - wx.connectSocket: at most 5 sockets open;
 * - storage: at most 1 MB a key and 10 MB in all (smaller limits for tests), "" for a missing
 *   key, sizes reported in KB as getStorageInfoSync does.
 * Requests really go to the server (fetch); sockets are real WebSockets (`ws`).
 */

import { readFile } from "node:fs/promises";
import WebSocket from "ws";

const WX_METHODS = new Set(["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"]);

interface Fail {
  errMsg: string;
}

export class WxShim {
  readonly keyLimit: number;
  readonly totalLimit: number;
  readonly storage = new Map<string, string>();
  inFlight = 0;
  maxInFlight = 0;
  openSockets = 0;
  maxOpenSockets = 0;
  requests = 0;
  readonly violations: string[] = [];
  readonly methods = new Set<string>();

  constructor(options: { keyLimit?: number; totalLimit?: number } = {}) {
    this.keyLimit = options.keyLimit ?? 1024 * 1024;
    this.totalLimit = options.totalLimit ?? 10 * 1024 * 1024;
  }

  private violation(what: string, fail: (err: Fail) => void): void {
    this.violations.push(what);
    fail({ errMsg: `request:fail ${what}` });
  }

  request(options: {
    url: string;
    method: string;
    header: Record<string, string>;
    data?: string;
    timeout: number;
    success(res: { statusCode: number; data: unknown; header: Record<string, string> }): void;
    fail(err: Fail): void;
  }): void {
    this.methods.add(options.method);
    if (!WX_METHODS.has(options.method)) return this.violation(`invalid method ${options.method}`, options.fail);
    if (options.timeout > 60_000) return this.violation(`timeout ${options.timeout} over 60 s`, options.fail);
    if (this.inFlight >= 10) return this.violation("exceed max task count", options.fail);
    this.track(
      fetch(options.url, {
        method: options.method,
        headers: options.header,
        ...(options.data === undefined ? {} : { body: options.data }),
        signal: AbortSignal.timeout(Math.min(options.timeout || 60_000, 60_000)),
      }).then(async (res) => {
        const header: Record<string, string> = {};
        res.headers.forEach((value, key) => {
          header[key[0]?.toUpperCase() + key.slice(1)] = value; // WeChat keeps the server's case
        });
        return { statusCode: res.status, data: await res.text(), header };
      }),
      options.success,
      options.fail,
    );
  }

  uploadFile(options: {
    url: string;
    filePath: string;
    name: string;
    header?: Record<string, string>;
    formData?: Record<string, string>;
    timeout: number;
    success(res: { statusCode: number; data: string }): void;
    fail(err: Fail): void;
  }): void {
    if (options.timeout > 60_000) return this.violation(`timeout ${options.timeout} over 60 s`, options.fail);
    if (this.inFlight >= 10) return this.violation("exceed max task count", options.fail);
    this.track(
      readFile(options.filePath).then(async (bytes) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(options.formData ?? {})) form.append(k, v);
        form.append(options.name, new Blob([bytes]), options.filePath.split("/").pop());
        const res = await fetch(options.url, { method: "POST", headers: options.header ?? {}, body: form });
        return { statusCode: res.status, data: await res.text() };
      }),
      options.success,
      options.fail,
    );
  }

  private track<T>(work: Promise<T>, success: (res: T) => void, fail: (err: Fail) => void): void {
    this.requests += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    work.then(
      (res) => {
        this.inFlight -= 1;
        success(res);
      },
      (err: unknown) => {
        this.inFlight -= 1;
        fail({ errMsg: `request:fail ${String(err)}` });
      },
    );
  }

  connectSocket(options: { url: string; fail?(err: Fail): void }) {
    const handlers = {
      open: [] as Array<() => void>,
      message: [] as Array<(res: { data: string }) => void>,
      close: [] as Array<(res: { code: number; reason: string }) => void>,
      error: [] as Array<(res: Fail) => void>,
    };
    const task = {
      onOpen: (cb: () => void) => handlers.open.push(cb),
      onMessage: (cb: (res: { data: string }) => void) => handlers.message.push(cb),
      onClose: (cb: (res: { code: number; reason: string }) => void) => handlers.close.push(cb),
      onError: (cb: (res: Fail) => void) => handlers.error.push(cb),
      close: (_options: { code?: number; reason?: string }) => undefined as void,
    };
    if (this.openSockets >= 5) {
      this.violations.push("more than 5 sockets");
      setTimeout(() => handlers.error.forEach((cb) => cb({ errMsg: "connectSocket:fail exceed max" })));
      return task;
    }
    this.openSockets += 1;
    this.maxOpenSockets = Math.max(this.maxOpenSockets, this.openSockets);
    const ws = new WebSocket(options.url);
    let open = true;
    const closed = (code: number, reason: string) => {
      if (!open) return;
      open = false;
      this.openSockets -= 1;
      handlers.close.forEach((cb) => cb({ code, reason }));
    };
    ws.on("open", () => handlers.open.forEach((cb) => cb()));
    ws.on("message", (data) => handlers.message.forEach((cb) => cb({ data: String(data) })));
    ws.on("close", (code, reason) => closed(code, String(reason)));
    ws.on("error", () => handlers.error.forEach((cb) => cb({ errMsg: "socket error" })));
    task.close = (opts) => {
      const code = opts.code && (opts.code === 1000 || (opts.code >= 3000 && opts.code < 5000)) ? opts.code : 1000;
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code, opts.reason);
    };
    return task;
  }

  private size(key: string, value: string): number {
    return Buffer.byteLength(key) + Buffer.byteLength(value);
  }

  private used(): number {
    let total = 0;
    for (const [key, value] of this.storage) total += this.size(key, value);
    return total;
  }

  getStorageSync(key: string): unknown {
    return this.storage.get(key) ?? "";
  }

  setStorageSync(key: string, data: unknown): void {
    const value = typeof data === "string" ? data : JSON.stringify(data);
    const size = this.size(key, value);
    const old = this.storage.get(key);
    const after = this.used() - (old === undefined ? 0 : this.size(key, old)) + size;
    if (size > this.keyLimit || after > this.totalLimit) {
      this.violations.push(`storage over quota at ${key}`);
      throw new Error("setStorageSync:fail exceed max size");
    }
    this.storage.set(key, value);
  }

  removeStorageSync(key: string): void {
    this.storage.delete(key);
  }

  getStorageInfoSync() {
    return {
      keys: [...this.storage.keys()],
      currentSize: Math.ceil(this.used() / 1024),
      limitSize: Math.floor(this.totalLimit / 1024),
    };
  }
}
