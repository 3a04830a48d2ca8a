/** What the SDK needs from a platform: HTTP requests, one realtime socket and file uploads. */

/** HTTP methods the SDK uses. There is no PATCH: WeChat's wx.request has none. */
export type Method = "GET" | "POST" | "PUT" | "DELETE";

const METHODS: ReadonlySet<string> = new Set<Method>(["GET", "POST", "PUT", "DELETE"]);

/** Refuse anything but the four methods (a PATCH would fail on WeChat only, in production). */
export function checkMethod(method: string): Method {
  if (!METHODS.has(method)) throw new TypeError(`HTTP method ${method} is not supported`);
  return method as Method;
}

export interface HttpRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Milliseconds; WeChat caps it at 60 000. */
  timeout?: number;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export interface UploadRequest {
  url: string;
  /** A local file path (WeChat: a temp path from wx.chooseMedia; Node: a file path). */
  filePath: string;
  /** The multipart field holding the file. */
  name: string;
  formData?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface SocketHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** `code` 1006 when the connection ended without a close frame. */
  onClose(code: number, reason: string): void;
}

export interface Socket {
  close(code?: number, reason?: string): void;
}

/** One platform's network: HTTP, a realtime socket, uploads. Failures reject with TransportError. */
export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
  connect(url: string, handlers: SocketHandlers): Socket;
  upload(req: UploadRequest): Promise<HttpResponse>;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
