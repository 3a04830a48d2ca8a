/** Ids for what a client creates offline (orders, claims, receipts): random UUIDs (version 4). */

/**
 * A random UUID. Uses `crypto.getRandomValues` where the platform has it (browsers, Node,
 * apps); WeChat's JS engine has no synchronous crypto, so there it falls back to Math.random:
 * these ids must be unique (a retry re-sends the same one), not secret.
 */
export function newId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
