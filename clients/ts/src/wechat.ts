/** The WeChat mini-program entry (bundled by esbuild into dist/wechat/channelhub-sdk.js). */

import { ApiClient } from "./api.js";
import { HttpClient, type TokenPair } from "./http.js";
import { Realtime, type RealtimeOptions } from "./realtime.js";
import { WechatStorage, type WxStorage } from "./storage/kv.js";
import { SyncClient } from "./sync.js";
import { WechatTransport, type WxNetwork } from "./transports/wechat.js";

export * from "./index.js";

export interface WechatSdkOptions {
  baseUrl: string;
  /** The mini-program's `wx` object. */
  wx: WxNetwork & WxStorage;
  tokens?: TokenPair | null;
  onTokens?: (tokens: TokenPair | null) => void;
  language?: "zh-CN" | "en";
  realtime?: RealtimeOptions;
  pageSize?: number;
}

/** The API client, the sync engine on WeChat storage and its realtime channel, wired. */
export function createWechatSdk(options: WechatSdkOptions) {
  const http = new HttpClient({
    baseUrl: options.baseUrl,
    transport: new WechatTransport(options.wx),
    tokens: options.tokens ?? null,
    ...(options.onTokens ? { onTokens: options.onTokens } : {}),
    ...(options.language ? { language: options.language } : {}),
  });
  const api = new ApiClient(http);
  const sync = new SyncClient({
    http,
    storage: new WechatStorage(options.wx),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  const realtime = new Realtime(sync, options.realtime);
  return { http, api, sync, realtime };
}
