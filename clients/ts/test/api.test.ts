import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, ApiError, HttpClient, checkMethod, type TokenPair } from "../src/index.js";
import { BASE, PASSWORD, login, transport } from "./helpers.js";

test("login, then browse the catalog with the dealer's own prices", async () => {
  const http = await login("dealer01");
  assert.ok(http.tokens?.dealerId, "a dealer login carries the dealer id");
  const api = new ApiClient(http);
  const me = await api.get("/mp/me");
  assert.equal(me.dealer?.id, http.tokens?.dealerId);
  const page = await api.get("/mp/catalog/skus", { query: { limit: 10 } });
  assert.equal(page.items.length, 10);
  const priced = page.items.filter((s) => s.price !== null);
  assert.ok(priced.length > 0, "some SKUs have a price for this dealer");
  for (const sku of priced) {
    assert.ok(sku.price && sku.price.unitPrice > 0 && sku.price.currency === "CNY");
  }
  // Dealer-specific: another dealer's list can differ, but each answer names the list it used.
  assert.ok(priced.every((s) => typeof s.price?.priceList.id === "string"));
});

test("errors are problem+json with a stable code, in the language asked for", async () => {
  const zh = new HttpClient({ baseUrl: BASE, transport: transport() });
  const en = new HttpClient({ baseUrl: BASE, transport: transport(), language: "en" });
  const errors: ApiError[] = [];
  for (const client of [zh, en]) {
    await assert.rejects(client.login("dealer01", "wrong-password"), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      errors.push(err);
      return true;
    });
  }
  const [inZh, inEn] = errors as [ApiError, ApiError];
  assert.equal(inZh.status, 401);
  assert.equal(inZh.code, inEn.code, "the code does not depend on the language");
  assert.match(inZh.problem.detail, /[\u4e00-\u9fff]/, "zh-CN by default");
  assert.doesNotMatch(inEn.problem.detail, /[\u4e00-\u9fff]/, "English when asked");
});

test("a 401 refreshes the token once, shared by concurrent calls, and repeats the call", async () => {
  const first = await login("dealer01");
  const seen: Array<TokenPair | null> = [];
  const http = new HttpClient({
    baseUrl: BASE,
    transport: transport(),
    tokens: { ...(first.tokens as TokenPair), accessToken: "not-a-valid-token" },
    onTokens: (t) => seen.push(t),
  });
  const api = new ApiClient(http);
  const pages = await Promise.all(
    Array.from({ length: 5 }, () => api.get("/mp/catalog/skus", { query: { limit: 1 } })),
  );
  assert.equal(pages.length, 5);
  assert.equal(seen.length, 1, "one refresh for five refused calls (refresh tokens rotate)");
  assert.notEqual(http.accessToken, "not-a-valid-token");
  // The spent refresh token is gone: a second refresh with it would revoke the family.
  assert.notEqual(http.tokens?.refreshToken, first.tokens?.refreshToken);
});

test("a refused refresh clears the tokens and surfaces the 401", async () => {
  const http = new HttpClient({
    baseUrl: BASE,
    transport: transport(),
    tokens: {
      accessToken: "bad",
      refreshToken: "not-a-refresh-token",
      expiresIn: 1,
      role: "dealer_admin",
      userId: "00000000-0000-0000-0000-000000000000",
    } as TokenPair,
  });
  await assert.rejects(new ApiClient(http).get("/mp/me"), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 401);
    return true;
  });
  assert.equal(http.tokens, null);
  assert.ok(PASSWORD);
});

test("there is no PATCH: the SDK refuses it before any request", async () => {
  assert.throws(() => checkMethod("PATCH"), TypeError);
  await assert.rejects(
    transport().request({ method: "PATCH" as "PUT", url: `${BASE}/mp/me`, headers: {} }),
    TypeError,
  );
});
