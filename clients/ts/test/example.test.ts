/**
 * The example mini-program (examples/miniprogram) runs here as WeChat would run it: its files
 * with the built WeChat bundle in lib/, `App`, `Page` and `getApp` as the platform gives them,
 * `wx` the shim. A dealer signs in, browses with its prices, fills a cart, orders while the
 * network is down (pushed once it is back), and claims a promotion with a receipt photo. Every
 * handler the page's WXML binds must exist, so the example cannot rot.
 */

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { ApiClient } from "../src/index.js";
import { FaultProxy, PASSWORD, countOrders, login, png } from "./helpers.js";
import { WxShim } from "./wx-shim.js";

type Handler = (this: PageInstance, event?: unknown) => unknown;
interface PageInstance {
  data: Record<string, unknown> & { skus: Array<{ code: string }>; claimable: Array<{ id: string }>; cart: unknown[] };
  setData(patch: Record<string, unknown>): void;
  [name: string]: unknown;
}

const ROOT = fileURLToPath(new URL("../../examples/miniprogram/", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../../dist/wechat/channelhub-sdk.js", import.meta.url));
const proxy = new FaultProxy();
let base = "";
before(async () => {
  base = await proxy.start();
});
after(async () => {
  await proxy.stop();
});

/** The mini-program in a temporary folder, with the bundle and a config naming the test server. */
function install(): string {
  const dir = mkdtempSync(join(tmpdir(), "miniprogram-"));
  cpSync(ROOT, dir, { recursive: true });
  cpSync(BUNDLE, join(dir, "lib", "channelhub-sdk.js"));
  writeFileSync(join(dir, "lib", "package.json"), '{"type": "commonjs"}\n');
  writeFileSync(join(dir, "package.json"), '{"type": "commonjs"}\n');
  writeFileSync(join(dir, "config.js"), `module.exports = { baseUrl: ${JSON.stringify(base)} };\n`);
  return dir;
}

/** Load app.js and the page as WeChat does; returns the page instance. */
function launch(dir: string, wx: WxShim) {
  const globals = globalThis as Record<string, unknown>;
  let app: Record<string, Handler> | null = null;
  let page: Record<string, unknown> | null = null;
  globals.wx = wx;
  globals.App = (definition: Record<string, Handler>) => (app = definition);
  globals.getApp = () => app;
  globals.Page = (definition: Record<string, unknown>) => (page = definition);
  const load = createRequire(join(dir, "app.js"));
  load("./app.js");
  assert.ok(app, "app.js calls App()");
  (app as Record<string, Handler>).onLaunch?.call(app as never);
  load("./pages/shop/shop.js");
  assert.ok(page, "shop.js calls Page()");
  const definition = page as Record<string, unknown>;
  const instance = {
    ...definition,
    data: structuredClone(definition.data),
    setData(this: PageInstance, patch: Record<string, unknown>) {
      Object.assign(this.data, patch);
    },
  } as unknown as PageInstance;
  return { app: app as unknown as { sdk: { http: { tokens: unknown } } }, page: instance, definition };
}

const call = (page: PageInstance, name: string, event?: unknown) => (page[name] as Handler).call(page, event);

test("the example mini-program: sign in, my prices, cart, an order placed offline, a claim with a receipt photo", { timeout: 60_000 }, async () => {
  const dir = install();
  const photo = join(dir, "receipt.png");
  writeFileSync(photo, png());
  const wx = Object.assign(new WxShim(), {
    toasts: [] as string[],
    chooseMedia(options: { success(res: { tempFiles: Array<{ tempFilePath: string }> }): void }) {
      setTimeout(() => options.success({ tempFiles: [{ tempFilePath: photo }] }));
    },
    showToast(options: { title: string }) {
      wx.toasts.push(options.title);
    },
  });
  const { page, definition } = launch(dir, wx);

  // Every handler the WXML binds is a function of the page.
  const wxml = readFileSync(join(dir, "pages", "shop", "shop.wxml"), "utf8");
  const bound = [...wxml.matchAll(/\b(?:bind|catch)\w+="(\w+)"/g)].map((m) => m[1] as string);
  assert.ok(bound.length >= 4);
  for (const name of bound) assert.equal(typeof definition[name], "function", `handler ${name}`);

  await call(page, "onLoad");
  assert.equal(page.data.signedIn, false);
  await call(page, "login", { detail: { value: { username: "dealer03", password: PASSWORD } } });
  assert.equal(page.data.signedIn, true, String(page.data.message));
  assert.ok(page.data.skus.length > 0, "the catalog with my prices");
  assert.ok(page.data.claimable.length > 0, "a claimable promotion");
  assert.ok(wx.getStorageInfoSync().keys.includes("auth:tokens"), "tokens kept for the next launch");

  // The network goes down: the order is queued, and pushed when it is back.
  const sku = page.data.skus[0] as { code: string };
  await call(page, "addToCart", { currentTarget: { dataset: { sku: sku.code } } });
  assert.equal(page.data.cart.length, 1);
  proxy.fault = (req) => {
    req.socket.destroy();
    return "handled";
  };
  const orderId = (await call(page, "placeOrder")) as string;
  assert.match(orderId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "newId: a UUID v4");
  assert.equal(page.data.offline, true);
  assert.equal(page.data.pending, 1, "queued in wx storage");
  proxy.fault = () => "forward";
  await call(page, "trySync");
  assert.equal(page.data.pending, 0);
  const api = new ApiClient(await login("dealer03"));
  assert.equal(await countOrders(api, orderId), 1, "the order reached the server once");
  const outcomes = page.data.outcomes as Array<{ name: string; status: string }>;
  assert.ok(outcomes.some((o) => o.name === "order.create" && o.status !== "rejected"), JSON.stringify(outcomes));

  // A claim with a receipt photo (wx.chooseMedia, then wx.uploadFile through the SDK).
  const promotion = page.data.claimable[0] as { id: string };
  const claimId = (await call(page, "claim", { currentTarget: { dataset: { promotion: promotion.id } } })) as string;
  const claim = await api.get("/mp/claims/{claim_id}", { path: { claim_id: claimId } });
  assert.equal((claim.receipts ?? []).length, 1, "the receipt is attached");
  assert.notEqual(claim.status, "open", "and the claim submitted");
  assert.deepEqual(wx.violations, [], "within the platform's rules");
  call(page, "onUnload");
  (globalThis as unknown as { getApp(): { onHide(): void } }).getApp().onHide();
});
