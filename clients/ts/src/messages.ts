/** What a person reads about a mutation's outcome, in zh-CN and English. */

import { isRecord, type Message } from "./problem.js";

const REASONS: Record<string, Message> = {
  price_rose: { "zh-CN": "价格已上涨，请确认订单后继续", en: "The price rose; confirm the order to go ahead" },
  partial_stock: {
    "zh-CN": "库存不足，仅能部分供货，请确认订单后继续",
    en: "Only part of the stock is available; confirm the order to go ahead",
  },
  stock_insufficient: { "zh-CN": "库存不足", en: "Not enough stock" },
  unknown_mutation: {
    "zh-CN": "服务器不认识此操作，请升级小程序",
    en: "The server does not know this operation; update the app",
  },
  invalid_args: { "zh-CN": "提交的内容不完整或有误", en: "The submitted data is incomplete or invalid" },
  business_key_conflict: {
    "zh-CN": "该单号已被另一项操作使用",
    en: "This id is already used by another kind of operation",
  },
  business_key_mismatch: {
    "zh-CN": "单号与业务键不一致",
    en: "The id does not match the business key",
  },
  forbidden: { "zh-CN": "无权执行此操作", en: "You may not do this" },
  handler_error: {
    "zh-CN": "服务器处理失败，请联系总部",
    en: "The server failed to process this; contact headquarters",
  },
};

/**
 * The message for an outcome: the server's own words when the detail carries them
 * (`message` / `messageZh`), else the SDK's for the reason code(s); null for `applied`.
 */
export function outcomeMessage(status: string, reason: string | null, detail: unknown): Message | null {
  if (status === "applied") return null;
  if (status === "rejected" && isRecord(detail) && typeof detail.message === "string") {
    const zh = typeof detail.messageZh === "string" ? detail.messageZh : detail.message;
    return { "zh-CN": zh, en: detail.message };
  }
  const codes = (reason ?? "").split(",").filter(Boolean);
  if (codes.length === 0) {
    return { "zh-CN": "服务器拒绝了此操作", en: "The server refused this" };
  }
  const parts = codes.map(
    (code) =>
      REASONS[code] ??
      REASONS[code.split(".").pop() ?? ""] ?? {
        "zh-CN": `服务器拒绝了此操作（${code}）`,
        en: `The server refused this (${code})`,
      },
  );
  return {
    "zh-CN": parts.map((p) => p["zh-CN"]).join("；"),
    en: parts.map((p) => p.en).join("; "),
  };
}
