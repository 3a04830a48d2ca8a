import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { test } from "node:test";
import {
  StorageFullError,
  WX_MAX_REQUESTS,
  createWechatSdk as createFromSource,
  uploadReceipt,
  type Outcome,
} from "../src/wechat.js";
import { BASE, PASSWORD, orderArgs, png, sleep } from "./helpers.js";
import { WxShim } from "./wx-shim.js";

// The bundle a mini-program ships (esbuild, CommonJS), exercised like the source.
const bundle = createRequire(import.meta.url)("../../dist/wechat/channelhub-sdk.js") as {
  createWechatSdk: typeof createFromSource;
};

for (const [label, createWechatSdk] of [
  ["source", createFromSource],
  ["bundle", bundle.createWechatSdk],
] as const) {
  test(`WeChat (${label}): log in, sync into wx storage, order offline, push, realtime — within the platform's rules`, async () => {
    const wx = new WxShim();
    const sdk = createWechatSdk({ baseUrl: BASE, wx });
    await sdk.http.login("dealer04", PASSWORD);
    await sdk.sync.sync();
    assert.ok(sdk.sync.store.entities("price").length > 0);
    assert.ok(wx.getStorageInfoSync().keys.some((k) => k.startsWith("channelhub:page:")));

    // Queued (offline), then the app restarts from wx storage and pushes.
    const order = await orderArgs(sdk.api);
    sdk.sync.enqueue("order.create", order, order.id);
    const restarted = createWechatSdk({ baseUrl: BASE, wx, tokens: sdk.http.tokens });
    assert.equal(restarted.sync.store.pending().length, 1);
    const outcomes: Outcome[] = [];
    restarted.sync.on("outcome", (o) => outcomes.push(o));
    await restarted.sync.sync();
    assert.equal(outcomes[0]?.businessKey, order.id);
    assert.notEqual(outcomes[0]?.status, "rejected");

    // 25 calls at once: at most 10 in flight, the rest wait their turn.
    const pages = await Promise.all(
      Array.from({ length: 25 }, () => restarted.api.get("/mp/catalog/skus", { query: { limit: 1 } })),
    );
    assert.equal(pages.length, 25);
    assert.equal(wx.maxInFlight, WX_MAX_REQUESTS);

    // Realtime over wx.connectSocket: started and restarted, never more than one socket.
    restarted.realtime.start();
    for (let i = 0; i < 50 && restarted.realtime.state !== "open"; i += 1) await sleep(100);
    assert.equal(restarted.realtime.state, "open");
    restarted.realtime.stop();
    restarted.realtime.start();
    for (let i = 0; i < 50 && restarted.realtime.state !== "open"; i += 1) await sleep(100);
    assert.equal(restarted.realtime.state, "open");
    restarted.realtime.stop();
    assert.equal(wx.maxOpenSockets, 1);

    assert.deepEqual(wx.violations, [], "no rule of the platform broken");
    assert.ok(!wx.methods.has("PATCH"));
  });
}

test("WeChat storage full: a clear bilingual error, nothing half-applied, the queue kept", async () => {
  // How much this dealer's data takes, then a phone with room for about half of it.
  const roomy = createFromSource({ baseUrl: BASE, wx: new WxShim() });
  await roomy.http.login("dealer04", PASSWORD);
  await roomy.sync.pull();
  const needed = roomy.sync.store.dataBytes();
  const wx = new WxShim({ totalLimit: Math.floor(needed / 2) });
  const sdk = createFromSource({ baseUrl: BASE, wx, pageSize: 10, tokens: roomy.http.tokens });
  const order = await orderArgs(sdk.api);
  sdk.sync.enqueue("order.create", order, order.id);
  const before = { cursor: sdk.sync.store.cursor(), keys: wx.getStorageInfoSync().keys.sort() };
  let pages = 0;
  sdk.sync.on("change", () => {
    pages += 1;
  });
  await assert.rejects(sdk.sync.pull(), (err: unknown) => {
    assert.ok(err instanceof StorageFullError, String(err));
    assert.match(err.messages["zh-CN"], /存储空间不足/);
    assert.match(err.messages.en, /storage full/i);
    assert.ok(err.needed > err.limit);
    return true;
  });
  // Pages that fitted were committed with their cursor; the one that did not left no trace.
  const reopened = createFromSource({ baseUrl: BASE, wx });
  assert.deepEqual(reopened.sync.store.cursor(), sdk.sync.store.cursor());
  assert.equal(reopened.sync.store.pending().length, 1, "the queued order is still there");
  const referenced = new Set(
    Object.values(
      JSON.parse(wx.getStorageSync("channelhub:manifest") as string).pages as Record<string, string[]>,
    ).flat(),
  );
  for (const key of wx.getStorageInfoSync().keys) {
    if (key.startsWith("channelhub:page:")) assert.ok(referenced.has(key), `orphan page ${key}`);
  }
  assert.deepEqual(wx.violations, [], "the SDK measured first instead of hitting WeChat's limit");
  assert.ok(pages > 0, "the pages that fitted were applied");
  assert.ok(before.keys.length > 0);
  console.log(`# dealer04's replica: ${needed} bytes; failed cleanly at a ${wx.totalLimit}-byte quota`);
});

test("the WeChat bundle stays small (under 50 KB minified and gzipped)", () => {
  const code = readFileSync(new URL("../../dist/wechat/channelhub-sdk.js", import.meta.url));
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`# WeChat bundle: ${code.length} bytes minified, ${gz} bytes gzipped`);
  assert.ok(gz < 50 * 1024, `${gz} bytes gzipped`);
  assert.doesNotMatch(code.toString(), /PATCH/, "no PATCH anywhere in what ships");
});

test("WeChat: a claim created offline, its receipt photo sent with wx.uploadFile, attached and submitted by mutation", async () => {
  const wx = new WxShim();
  const sdk = createFromSource({ baseUrl: BASE, wx });
  await sdk.http.login("dealer10", PASSWORD);
  const [promotion] = await sdk.api.get("/mp/promotions/claimable");
  assert.ok(promotion, "the demo has a claimable promotion");
  const claimId = randomUUID();
  sdk.sync.enqueue("claim.create", { id: claimId, promotionId: promotion.id }, claimId);
  const outcomes: Outcome[] = [];
  sdk.sync.on("outcome", (o) => outcomes.push(o));
  await sdk.sync.sync();
  assert.equal(outcomes[0]?.status, "applied", JSON.stringify(outcomes[0]));

  const dir = mkdtempSync(join(tmpdir(), "receipt-"));
  const filePath = join(dir, "receipt.png");
  writeFileSync(filePath, png());
  const receiptId = randomUUID();
  const uploadsBefore = wx.requests;
  await uploadReceipt(sdk.api, { claimId, receiptId, filePath, contentType: "image/png" });
  assert.equal(wx.requests - uploadsBefore, 2, "presign (wx.request) and the file (wx.uploadFile)");
  sdk.sync.enqueue("claim.attach_receipt", { claimId, receiptId, submit: true }, receiptId);
  await sdk.sync.sync();
  assert.equal(outcomes[1]?.status, "applied", JSON.stringify(outcomes[1]));
  const claim = await sdk.api.get("/mp/claims/{claim_id}", { path: { claim_id: claimId } });
  assert.notEqual(claim.status, "open", "submitted");
  assert.deepEqual(
    (claim.receipts ?? []).map((r) => r.id),
    [receiptId],
  );
  assert.deepEqual(wx.violations, []);
});
