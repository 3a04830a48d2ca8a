/** Key-value storage the sync engine keeps its replica and queue in (strings in, strings out). */

import { StorageFullError } from "../problem.js";

/**
 * Synchronous, as wx.setStorageSync and localStorage are. `set` either stores the whole value
 * or throws (`StorageFullError` when it would not fit) and leaves the old value in place.
 */
export interface KeyValueStorage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  keys(): string[];
}

/** UTF-8 length of a string, in bytes (no TextEncoder needed). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** Storage in memory: survives an engine restart as long as the object lives (tests, SSR). */
export class MemoryStorage implements KeyValueStorage {
  private readonly items = new Map<string, string>();

  get(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  set(key: string, value: string): void {
    this.items.set(key, value);
  }

  remove(key: string): void {
    this.items.delete(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Bytes held (UTF-8 of keys and values). */
  bytes(): number {
    let total = 0;
    for (const [key, value] of this.items) total += utf8Bytes(key) + utf8Bytes(value);
    return total;
  }
}

/** The part of the `wx` object the WeChat storage uses. */
export interface WxStorage {
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, data: unknown): void;
  removeStorageSync(key: string): void;
  getStorageInfoSync(): { keys: string[]; currentSize: number; limitSize: number };
}

export const WX_KEY_LIMIT = 1024 * 1024;
export const WX_TOTAL_LIMIT = 10 * 1024 * 1024;

/**
 * WeChat storage (about 1 MB a key, 10 MB in all). Measures each value before storing it and
 * says clearly when it would not fit, instead of WeChat's bare "exceed max size".
 */
export class WechatStorage implements KeyValueStorage {
  private readonly wx: WxStorage;
  readonly keyLimit: number;
  readonly totalLimit: number;

  constructor(wx: WxStorage, options: { keyLimit?: number; totalLimit?: number } = {}) {
    this.wx = wx;
    this.keyLimit = options.keyLimit ?? WX_KEY_LIMIT;
    this.totalLimit = options.totalLimit ?? WX_TOTAL_LIMIT;
  }

  get(key: string): string | null {
    const value = this.wx.getStorageSync(key);
    // wx answers "" for a key it does not have; the engine never stores an empty string.
    return value === "" || value === undefined || value === null ? null : String(value);
  }

  set(key: string, value: string): void {
    const size = utf8Bytes(key) + utf8Bytes(value);
    if (size > this.keyLimit) throw new StorageFullError(key, size, this.keyLimit, true);
    const info = this.wx.getStorageInfoSync();
    const limit = Math.min(this.totalLimit, info.limitSize * 1024);
    const old = this.get(key);
    const after = info.currentSize * 1024 - (old === null ? 0 : utf8Bytes(key) + utf8Bytes(old)) + size;
    if (after > limit) throw new StorageFullError(key, after, limit, false);
    try {
      this.wx.setStorageSync(key, value);
    } catch {
      throw new StorageFullError(key, after, limit, false);
    }
  }

  remove(key: string): void {
    this.wx.removeStorageSync(key);
  }

  keys(): string[] {
    return this.wx.getStorageInfoSync().keys;
  }
}
