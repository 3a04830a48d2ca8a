/** Transport for apps, Node and browsers: fetch and WebSocket (both passed in or global). */

import { TransportError } from "../problem.js";
import {
  DEFAULT_TIMEOUT_MS,
  type HttpRequest,
  type HttpResponse,
  type Socket,
  type SocketHandlers,
  type Transport,
  type UploadRequest,
  checkMethod,
} from "../transport.js";

/** The part of the fetch API the transport uses. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: unknown; signal?: unknown },
) => Promise<{
  status: number;
  headers: { forEach(cb: (value: string, key: string) => void): void };
  text(): Promise<string>;
}>;

/** The part of the WebSocket API the transport uses (browsers, Node 22, the `ws` package). */
export interface WebSocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface StandardTransportOptions {
  fetch?: FetchLike;
  WebSocket?: WebSocketConstructor;
  /** Read a file for `upload` (Node: `fs.promises.readFile`); browsers upload Blobs instead. */
  readFile?: (path: string) => Promise<Uint8Array>;
  timeout?: number;
}

interface Globals {
  fetch?: FetchLike;
  WebSocket?: WebSocketConstructor;
  FormData?: new () => { append(name: string, value: unknown, filename?: string): void };
  Blob?: new (parts: unknown[]) => unknown;
  AbortController?: new () => { signal: unknown; abort(): void };
}

export class StandardTransport implements Transport {
  private readonly fetchImpl: FetchLike;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly readFile: ((path: string) => Promise<Uint8Array>) | undefined;
  private readonly timeout: number;

  constructor(options: StandardTransportOptions = {}) {
    const g = globalThis as unknown as Globals;
    const fetchImpl = options.fetch ?? g.fetch?.bind(globalThis);
    if (!fetchImpl) throw new TypeError("StandardTransport needs fetch");
    this.fetchImpl = fetchImpl;
    this.WebSocketImpl = options.WebSocket ?? g.WebSocket;
    this.readFile = options.readFile;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    return this.send(req.url, checkMethod(req.method), req.headers, req.body, req.timeout);
  }

  private async send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: unknown,
    timeout = this.timeout,
  ): Promise<HttpResponse> {
    const g = globalThis as unknown as Globals;
    const abort = g.AbortController ? new g.AbortController() : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort?.abort();
    }, timeout);
    try {
      const res = await this.fetchImpl(url, { method, headers, body, signal: abort?.signal });
      const out: Record<string, string> = {};
      res.headers.forEach((value, key) => {
        out[key.toLowerCase()] = value;
      });
      return { status: res.status, headers: out, body: await res.text() };
    } catch (err) {
      if (timedOut) throw new TransportError("timeout", `${method} ${url} timed out`);
      throw new TransportError("network", `${method} ${url} failed: ${String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  connect(url: string, handlers: SocketHandlers): Socket {
    if (!this.WebSocketImpl) throw new TypeError("StandardTransport needs a WebSocket");
    const ws = new this.WebSocketImpl(url);
    let closed = false;
    ws.onopen = () => handlers.onOpen();
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") handlers.onMessage(ev.data);
      else handlers.onMessage(String(ev.data));
    };
    ws.onclose = (ev) => {
      if (closed) return;
      closed = true;
      handlers.onClose(ev.code || 1006, ev.reason || "");
    };
    ws.onerror = () => undefined; // onclose follows
    return { close: (code = 1000, reason = "") => ws.close(code, reason) };
  }

  async upload(req: UploadRequest): Promise<HttpResponse> {
    const g = globalThis as unknown as Globals;
    if (!this.readFile || !g.FormData || !g.Blob) {
      throw new TypeError("StandardTransport.upload needs readFile, FormData and Blob");
    }
    const form = new g.FormData();
    for (const [key, value] of Object.entries(req.formData ?? {})) form.append(key, value);
    const bytes = await this.readFile(req.filePath);
    const filename = req.filePath.split(/[\\/]/).pop() ?? "file";
    form.append(req.name, new g.Blob([bytes]), filename);
    return this.send(req.url, "POST", req.headers ?? {}, form);
  }
}
