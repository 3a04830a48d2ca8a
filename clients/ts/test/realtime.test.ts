import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, Realtime } from "../src/index.js";
import { device, login, sleep } from "./helpers.js";

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(5);
  }
  return check();
}

test("a price HQ publishes reaches a connected client's local store in under 1 s", async () => {
  const phone = await device("dealer05");
  const realtime = new Realtime(phone.sync);
  realtime.start();
  try {
    assert.ok(await until(() => realtime.state === "open", 10_000), "hello received");
    assert.ok(await until(() => phone.sync.store.cursor()["price:default"] !== undefined, 10_000));
    const before = phone.sync.store.getEntry("price:default", "price", "STD-2026:SKU00001") as {
      unitPrice: number;
    };
    assert.ok(before, "the default price of SKU00001 is in the store");

    const hq = new ApiClient(await login("hq"));
    const draft = await hq.post("/hq/price-lists/by-code/{code}/versions", { path: { code: "STD-2026" } });
    const items = await hq.get("/hq/price-lists/{price_list_id}/items", {
      path: { price_list_id: draft.id },
      query: { limit: 1000 },
    });
    const newPrice = before.unitPrice + 10;
    await hq.put("/hq/price-lists/{price_list_id}/items", {
      path: { price_list_id: draft.id },
      body: {
        items: items.items.map((i) => ({
          sku: i.sku,
          unitPrice: i.sku === "SKU00001" ? newPrice : i.unitPrice,
          breakKind: i.breakKind as "range" | "slab",
          breaks: i.breaks.map((b) => ({ minQty: b.minQty, unitPrice: b.unitPrice, maxQty: b.maxQty })),
        })),
      },
    });
    const published = Date.now();
    await hq.post("/hq/price-lists/{price_list_id}/publish", { path: { price_list_id: draft.id } });
    const arrived = await until(() => {
      const now = phone.sync.store.getEntry("price:default", "price", "STD-2026:SKU00001") as
        | { unitPrice: number }
        | undefined;
      return now?.unitPrice === newPrice;
    }, 5000);
    const took = Date.now() - published;
    assert.ok(arrived, "the new price arrived");
    console.log(`# price published -> local store: ${took} ms (publish call included)`);
    assert.ok(took < 1000, `took ${took} ms`);
    assert.equal(realtime.connections, 1, "one connection, no reconnects");
  } finally {
    realtime.stop();
  }
});
