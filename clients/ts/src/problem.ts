/** Errors as the server sends them (RFC 9457 problem+json) and as the SDK raises them. */

import type { components } from "../../../openapi/channelhub.js";

/** A message a person reads, in both languages the server speaks. */
export interface Message {
  "zh-CN": string;
  en: string;
}

/** The server's problem document: branch on `code`, show `detail` (or `message`). */
export type Problem = components["schemas"]["ProblemDetails"] & {
  expectedMid?: number;
  scope?: string;
  supported?: number[];
  message?: Message;
  [member: string]: unknown;
};

/** The server answered an error: `status` and its problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** Seconds the server asked us to wait (`Retry-After`), if it said. */
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem, retryAfter: number | null = null) {
    super(`${status} ${problem.code}: ${problem.detail}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** The server's stable error code. */
  get code(): string {
    return this.problem.code;
  }
}

/**
 * No usable answer: the network failed, the request timed out, or the body was cut short.
 * Nothing is known about what the server did; a push is repeated with the same mids.
 */
export class TransportError extends Error {
  readonly code: "network" | "timeout" | "truncated_body";

  constructor(code: TransportError["code"], message: string) {
    super(message);
    this.name = "TransportError";
    this.code = code;
  }
}

/** Local storage cannot hold what it was asked to (WeChat: ~1 MB a key, 10 MB in all). */
export class StorageFullError extends Error {
  readonly needed: number;
  readonly limit: number;
  readonly key: string;
  readonly messages: Message;

  constructor(key: string, needed: number, limit: number, perKey: boolean) {
    const size = (n: number) =>
      n >= 1048576 ? `${(n / 1048576).toFixed(2)} MB` : `${Math.ceil(n / 1024)} KB`;
    const messages: Message = perKey
      ? {
          "zh-CN": `本地存储单项超出上限：${key} 需要 ${size(needed)}，上限 ${size(limit)}`,
          en: `Local storage item too large: ${key} needs ${size(needed)}, the limit is ${size(limit)}`,
        }
      : {
          "zh-CN": `本地存储空间不足：经销商数据需要 ${size(needed)}，上限 ${size(limit)}，请减少同步范围`,
          en: `Local storage full: the dealer's data needs ${size(needed)}, the limit is ${size(limit)}; sync fewer scopes`,
        };
    super(messages.en);
    this.name = "StorageFullError";
    this.key = key;
    this.needed = needed;
    this.limit = limit;
    this.messages = messages;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Read an error answer's body as a problem; a body that is not one still gives a code. */
export function parseProblem(status: number, text: string, path: string): Problem {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && typeof parsed.code === "string") {
      return {
        type: String(parsed.type ?? "about:blank"),
        title: String(parsed.title ?? parsed.code),
        status: typeof parsed.status === "number" ? parsed.status : status,
        detail: String(parsed.detail ?? parsed.title ?? parsed.code),
        instance: String(parsed.instance ?? path),
        ...parsed,
        code: parsed.code,
      } as Problem;
    }
  } catch {
    // not JSON: fall through
  }
  return {
    type: "about:blank",
    title: `HTTP ${status}`,
    status,
    code: status >= 500 ? "server_error" : "http_error",
    detail: text.slice(0, 200) || `HTTP ${status}`,
    instance: path,
  };
}

/** Parse a success body; a body that is not JSON (cut short, a proxy's page) is a transport error. */
export function parseBody(text: string, path: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new TransportError("truncated_body", `unreadable answer from ${path} (${text.length} bytes)`);
  }
}

export { isRecord };
