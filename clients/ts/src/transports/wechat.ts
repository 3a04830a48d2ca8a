/**
 * Transport for WeChat mini-programs: wx.request, wx.connectSocket, wx.uploadFile.
 *
 * The platform's rules, kept here: no PATCH (the SDK has none); at most 10 requests and
 * uploads in flight (more wait their turn); timeouts of at most 60 s; one socket at a time
 * (connecting again closes the previous one first).
 */

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

interface WxFail {
  errMsg: string;
}

export interface WxSocketTask {
  onOpen(cb: () => void): void;
  onMessage(cb: (res: { data: string | ArrayBuffer }) => void): void;
  onClose(cb: (res: { code: number; reason: string }) => void): void;
  onError(cb: (res: WxFail) => void): void;
  close(options: { code?: number; reason?: string }): void;
}

/** The part of the `wx` object the transport uses. */
export interface WxNetwork {
  request(options: {
    url: string;
    method: string;
    header: Record<string, string>;
    data?: string;
    dataType: string;
    responseType: "text";
    timeout: number;
    success(res: { statusCode: number; data: unknown; header: Record<string, string> }): void;
    fail(err: WxFail): void;
  }): unknown;
  connectSocket(options: { url: string; timeout?: number; fail?(err: WxFail): void }): WxSocketTask;
  uploadFile(options: {
    url: string;
    filePath: string;
    name: string;
    header?: Record<string, string>;
    formData?: Record<string, string>;
    timeout: number;
    success(res: { statusCode: number; data: string; header?: Record<string, string> }): void;
    fail(err: WxFail): void;
  }): unknown;
}

/** WeChat's limits: requests in flight, and the longest timeout. */
export const WX_MAX_REQUESTS = 10;
export const WX_MAX_TIMEOUT_MS = 60_000;

function lowerKeys(header: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(header ?? {})) out[key.toLowerCase()] = String(value);
  return out;
}

function failure(err: WxFail, what: string): TransportError {
  const timedOut = /time ?out/i.test(err.errMsg);
  return new TransportError(timedOut ? "timeout" : "network", `${what}: ${err.errMsg}`);
}

export class WechatTransport implements Transport {
  private readonly wx: WxNetwork;
  private readonly timeout: number;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private socket: (Socket & { gone: Promise<void> }) | null = null;
  private readonly closeWaitMs: number;

  constructor(wx: WxNetwork, options: { timeout?: number; closeWaitMs?: number } = {}) {
    this.wx = wx;
    this.closeWaitMs = options.closeWaitMs ?? 5000;
    this.timeout = Math.min(options.timeout ?? DEFAULT_TIMEOUT_MS, WX_MAX_TIMEOUT_MS);
  }

  /** Run `task` when fewer than 10 requests are in flight. */
  private async slot<T>(task: () => Promise<T>): Promise<T> {
    if (this.inFlight >= WX_MAX_REQUESTS) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight += 1;
    try {
      return await task();
    } finally {
      this.inFlight -= 1;
      this.waiting.shift()?.();
    }
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const method = checkMethod(req.method);
    const timeout = Math.min(req.timeout ?? this.timeout, WX_MAX_TIMEOUT_MS);
    return this.slot(
      () =>
        new Promise<HttpResponse>((resolve, reject) => {
          this.wx.request({
            url: req.url,
            method,
            header: req.headers,
            ...(req.body === undefined ? {} : { data: req.body }),
            dataType: "text", // anything but "json": the SDK parses (and spots truncation) itself
            responseType: "text",
            timeout,
            success: (res) =>
              resolve({
                status: res.statusCode,
                headers: lowerKeys(res.header),
                body: typeof res.data === "string" ? res.data : JSON.stringify(res.data),
              }),
            fail: (err) => reject(failure(err, `${method} ${req.url}`)),
          });
        }),
    );
  }

  /**
   * One socket at a time: a new connection opens only once the previous one has closed
   * (WeChat counts a closing socket as open), or after `closeWaitMs` if no close is reported.
   */
  connect(url: string, handlers: SocketHandlers): Socket {
    const previous = this.socket;
    previous?.close(1000, "replaced");
    let task: WxSocketTask | null = null;
    let cancelled = false;
    let closed = false;
    let released!: () => void;
    const gone = new Promise<void>((resolve) => {
      released = resolve;
    });
    const finish = (code: number, reason: string) => {
      released();
      if (closed) return;
      closed = true;
      handlers.onClose(code, reason);
    };
    const open = () => {
      if (cancelled) return released();
      task = this.wx.connectSocket({ url, timeout: this.timeout, fail: () => undefined });
      task.onOpen(() => handlers.onOpen());
      task.onMessage((res) => {
        if (typeof res.data === "string") handlers.onMessage(res.data);
      });
      task.onClose((res) => finish(res.code || 1006, res.reason || ""));
      task.onError(() => finish(1006, "error"));
    };
    const socket: Socket & { gone: Promise<void> } = {
      gone,
      close: (code = 1000, reason = "") => {
        cancelled = true;
        task?.close({ code, reason });
        if (!task) released();
        if (!closed) {
          closed = true;
          handlers.onClose(code, reason);
        }
      },
    };
    this.socket = socket;
    if (previous) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.closeWaitMs);
      });
      void Promise.race([previous.gone, wait]).then(() => {
        clearTimeout(timer);
        open();
      });
    } else open();
    return socket;
  }

  upload(req: UploadRequest): Promise<HttpResponse> {
    return this.slot(
      () =>
        new Promise<HttpResponse>((resolve, reject) => {
          this.wx.uploadFile({
            url: req.url,
            filePath: req.filePath,
            name: req.name,
            header: req.headers ?? {},
            formData: req.formData ?? {},
            timeout: this.timeout,
            success: (res) =>
              resolve({ status: res.statusCode, headers: lowerKeys(res.header), body: res.data }),
            fail: (err) => reject(failure(err, `upload ${req.url}`)),
          });
        }),
    );
  }
}
