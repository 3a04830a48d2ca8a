/**
 * The HTTP layer every call goes through, with the SDK's one retry policy:
 * a 401 refreshes the token once (one refresh at a time: refresh tokens rotate, and a spent
 * one replayed revokes its family) and repeats the call; a 503 waits as `Retry-After` says
 * (else 1 s, 2 s, 4 s … with jitter, capped) and repeats it, a few times. Everything else is
 * the caller's: errors are `ApiError` (problem+json) or `TransportError` (no usable answer).
 */

import type { components } from "../../../openapi/channelhub.js";
import { ApiError, parseBody, parseProblem } from "./problem.js";
import type { HttpResponse, Method, Transport } from "./transport.js";

export type TokenPair = components["schemas"]["TokenPair"];
export type Language = "zh-CN" | "en";

export interface HttpClientOptions {
  /** e.g. `https://api.example.com` (no trailing slash needed). */
  baseUrl: string;
  transport: Transport;
  tokens?: TokenPair | null;
  /** Called with new tokens after login or refresh (persist them), `null` when they are gone. */
  onTokens?: (tokens: TokenPair | null) => void;
  /** Language of problem `title`/`detail` (Accept-Language); zh-CN by default. */
  language?: Language;
  /** How many times a 503 is retried (default 4). */
  retries?: number;
  /** The longest wait between retries, ms (default 60 000). */
  maxWaitMs?: number;
  /** Waits (tests may pass a recording one). */
  sleep?: (ms: number) => Promise<void>;
}

export interface CallOptions {
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the bearer token (default true). */
  auth?: boolean;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds from a `Retry-After` header (delta seconds or an HTTP date), or null. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}

/** Jittered exponential backoff: base·2^attempt ms, capped, times 0.5–1.5. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 60_000): number {
  return Math.min(baseMs * 2 ** attempt, capMs) * (0.5 + Math.random());
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

export class HttpClient {
  readonly baseUrl: string;
  readonly transport: Transport;
  language: Language;
  private tokenPair: TokenPair | null;
  private readonly onTokens: ((tokens: TokenPair | null) => void) | undefined;
  private readonly retries: number;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private refreshing: Promise<void> | null = null;

  constructor(options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.transport = options.transport;
    this.tokenPair = options.tokens ?? null;
    this.onTokens = options.onTokens;
    this.language = options.language ?? "zh-CN";
    this.retries = options.retries ?? 4;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.sleep = options.sleep ?? sleep;
  }

  get tokens(): TokenPair | null {
    return this.tokenPair;
  }

  set tokens(tokens: TokenPair | null) {
    this.tokenPair = tokens;
    this.onTokens?.(tokens);
  }

  /** The access token (for the realtime `?token=`), or null when logged out. */
  get accessToken(): string | null {
    return this.tokenPair?.accessToken ?? null;
  }

  async login(username: string, password: string): Promise<TokenPair> {
    const pair = (await this.call("POST", "/auth/login", {
      body: { username, password },
      auth: false,
    })) as TokenPair;
    this.tokens = pair;
    return pair;
  }

  /** Spend the refresh token for a new pair; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const refreshToken = this.tokenPair?.refreshToken;
      this.refreshing = (async () => {
        if (!refreshToken) throw new ApiError(401, parseProblem(401, "", "/auth/refresh"));
        try {
          const pair = (await this.call("POST", "/auth/refresh", {
            body: { refreshToken },
            auth: false,
          })) as TokenPair;
          this.tokens = pair;
        } catch (err) {
          if (err instanceof ApiError && err.status < 500) this.tokens = null;
          throw err;
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** One call, with the retry policy; resolves to the parsed body (undefined when empty). */
  async call(method: Method, path: string, options: CallOptions = {}): Promise<unknown> {
    const response = await this.send(method, path, options);
    return parseBody(response.body, path);
  }

  /** Like `call`, but resolves to the raw answer (any 2xx); errors are thrown the same way. */
  async send(method: Method, path: string, options: CallOptions = {}): Promise<HttpResponse> {
    const auth = options.auth ?? true;
    let refreshed = false;
    for (let attempt = 0; ; attempt += 1) {
      if (this.refreshing && auth) await this.refreshing.catch(() => undefined);
      const usedToken = this.accessToken;
      const headers: Record<string, string> = {
        Accept: "application/json",
        "Accept-Language": this.language === "en" ? "en" : "zh-CN",
        ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(auth && usedToken ? { Authorization: `Bearer ${usedToken}` } : {}),
        ...options.headers,
      };
      const response = await this.transport.request({
        method,
        url: this.baseUrl + path + queryString(options.query),
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      if (response.status === 401 && auth && !refreshed && this.tokenPair?.refreshToken) {
        refreshed = true;
        // Another call may have refreshed meanwhile: only refresh if the token is the one refused.
        if (this.accessToken === usedToken) await this.refresh();
        continue;
      }
      if (response.status === 503 && attempt < this.retries) {
        const seconds = retryAfterSeconds(response.headers["retry-after"]);
        const wait = seconds === null ? backoffMs(attempt) : seconds * 1000;
        await this.sleep(Math.min(wait, this.maxWaitMs));
        continue;
      }
      if (response.status >= 400) {
        throw new ApiError(
          response.status,
          parseProblem(response.status, response.body, path),
          retryAfterSeconds(response.headers["retry-after"]),
        );
      }
      return response;
    }
  }
}
