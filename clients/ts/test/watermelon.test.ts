/**
 * The real `@nozbe/watermelondb` (LokiJS adapter, in Node) synced through the glue with its own
 * `synchronize()`: a dealer's prices, price lists, stock bands, promotions, orders and claims
 * arrive; an order and a claim created offline are pushed exactly once although the first push
 * answer is lost; HQ's updates (a stock band) and deletes (an archived promotion) follow; after
 * every sync the database equals what the server holds for the dealer's scopes.
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Database, Model, appSchema, tableSchema } from "@nozbe/watermelondb";
import LokiJSAdapter from "@nozbe/watermelondb/adapters/lokijs/index.js";
import { synchronize } from "@nozbe/watermelondb/sync/index.js";
import logger from "@nozbe/watermelondb/utils/common/logger/index.js";
import { ApiClient, MemoryStorage, SyncClient } from "../src/index.js";
import { watermelonSync, type WatermelonGlue } from "../src/watermelon.js";
import { FaultProxy, countOrders, login, orderArgs } from "./helpers.js";

const DEALER = "dealer05";
const TABLES = {
  price: "prices",
  price_list: "price_lists",
  stock_band: "stock_bands",
  promotion: "promotions",
  order: "orders",
  claim: "claims",
} as const;

const entry = [
  { name: "scope", type: "string" as const, isIndexed: true },
  { name: "key", type: "string" as const },
  { name: "data", type: "string" as const },
];
const schema = appSchema({
  version: 1,
  tables: [
    tableSchema({ name: "prices", columns: [...entry, { name: "sku", type: "string" }, { name: "unit_price", type: "number" }] }),
    tableSchema({ name: "price_lists", columns: entry }),
    tableSchema({ name: "stock_bands", columns: [...entry, { name: "sku_id", type: "string" }, { name: "band", type: "string" }] }),
    tableSchema({ name: "promotions", columns: [...entry, { name: "code", type: "string" }] }),
    tableSchema({ name: "orders", columns: [...entry, { name: "status", type: "string" }, { name: "lines", type: "string" }] }),
    tableSchema({ name: "claims", columns: [...entry, { name: "status", type: "string" }, { name: "promotion_id", type: "string" }] }),
  ],
});
const models = Object.values(TABLES).map((table) => {
  const model = class extends Model {};
  Object.defineProperty(model, "table", { value: table });
  return model;
});

logger.default.silence(); // WatermelonDB's own progress lines
const proxy = new FaultProxy();
let base = "";
before(async () => {
  base = await proxy.start();
});
after(async () => {
  await proxy.stop();
});

function openDatabase(): Database {
  // A CommonJS module: Node's ESM import hands over `module.exports`, the class is its default.
  const adapter = new LokiJSAdapter.default({
    schema,
    dbName: `glue-${randomUUID()}`,
    useWebWorker: false,
    useIncrementalIndexedDB: false,
    extraLokiOptions: { autosave: false },
  });
  return new Database({ adapter, modelClasses: models });
}

async function rows(database: Database, table: string): Promise<Array<Record<string, unknown>>> {
  return (await database.get(table).query().unsafeFetchRaw()) as Array<Record<string, unknown>>;
}

/** With a 30 s bound: a synchronize() that never settles fails the test instead of hanging it. */
async function sync(database: Database, glue: WatermelonGlue): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("synchronize() did not settle in 30 s")), 30_000);
  });
  try {
    await Promise.race([
      synchronize({ database, pullChanges: glue.pullChanges, pushChanges: glue.pushChanges, sendCreatedAsUpdated: true }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every synced record equals a fresh pull of the dealer's scopes through the SDK. */
async function assertEqualsServer(database: Database, glue: WatermelonGlue, truth: SyncClient): Promise<void> {
  await truth.pull();
  for (const [entity, table] of Object.entries(TABLES)) {
    const expected = new Map(
      truth.store.entities(entity).map((e) => [glue.recordId(entity, e.scope, e.key), e.data] as const),
    );
    const held = (await rows(database, table)).filter((r) => r._status === "synced");
    assert.deepEqual(held.map((r) => r.id).sort(), [...expected.keys()].sort(), `${table}: the same records`);
    for (const r of held) assert.deepEqual(JSON.parse(r.data as string), expected.get(r.id as string), `${table} ${r.id}`);
  }
}

test("WatermelonDB (LokiJS) syncs through the glue: pulls, offline order and claim pushed once, updates and deletes", { timeout: 120_000 }, async () => {
  const http = await login(DEALER, base);
  const api = new ApiClient(http);
  const storage = new MemoryStorage();
  const engine = new SyncClient({ http, storage });
  const database = openDatabase();
  const glue = watermelonSync({
    database,
    sync: engine,
    storage,
    tables: TABLES,
    toMutations: (table, kind, raw) => {
      if (table === "orders" && kind === "created") {
        return [{ name: "order.create", args: { id: raw.id, lines: JSON.parse(raw.lines as string) }, businessKey: raw.id }];
      }
      if (table === "claims" && kind === "created") {
        return [{ name: "claim.create", args: { id: raw.id, promotionId: raw.promotion_id as string }, businessKey: raw.id }];
      }
      return [];
    },
  });
  const truth = new SyncClient({ http: await login(DEALER), storage: new MemoryStorage() });

  // HQ's ERP feed gives one SKU of the dealer's warehouse (WH-HZ) a stock band: the catalog's
  // last SKU, so that the orders of other tests (its first SKUs) are not affected.
  const hq = new ApiClient(await login("hq"));
  const skus = (await api.get("/mp/catalog/skus", { query: { limit: 100 } })).items;
  const stocked = skus[skus.length - 1]?.code as string;
  const feed = (quantity: number) =>
    hq.post("/hq/inventory/feed", {
      body: { batchId: `wm-${randomUUID()}`, items: [{ warehouseCode: "WH-HZ", skuCode: stocked, mode: "set", quantity }] },
    });
  await feed(0);
  await feed(300); // in stock now, whatever it was: a band change is published

  // First sync: prices, price lists, stock bands and promotions arrive.
  await sync(database, glue);
  for (const table of ["prices", "price_lists", "stock_bands", "promotions"]) {
    assert.ok((await rows(database, table)).length > 0, `${table} arrived`);
  }
  const price = (await rows(database, "prices"))[0] as Record<string, unknown>;
  assert.equal(typeof price.unit_price, "number", "columns filled from the data");
  await assertEqualsServer(database, glue, truth);

  // Offline: an order and a claim created in WatermelonDB; the first push answer is lost.
  const order = await orderArgs(api);
  const [claimable] = await api.get("/mp/promotions/claimable");
  assert.ok(claimable, "the demo has a claimable promotion");
  const claimId = randomUUID();
  await database.write(async () => {
    await database.batch(
      database.get("orders").prepareCreateFromDirtyRaw({ id: order.id, lines: JSON.stringify(order.lines), status: "local" }),
      database.get("claims").prepareCreateFromDirtyRaw({ id: claimId, promotion_id: claimable.id, status: "local" }),
    );
  });
  let dropped = 0;
  proxy.fault = (req) => (req.url === "/sync/push" && dropped++ === 0 ? "drop-answer" : "forward");
  await assert.rejects(sync(database, glue), "the push answer was lost");
  assert.equal(engine.store.pending().length, 2, "both mutations wait in the durable queue");
  await sync(database, glue);
  proxy.fault = () => "forward";
  assert.equal(engine.store.pending().length, 0);
  assert.ok(engine.store.outcomes().some((o) => o.replayed), "the retry replayed the stored results");
  assert.equal(engine.store.queueState().nextMid, 3, "WatermelonDB's retry queued nothing new: the same two mids went again");
  assert.equal(await countOrders(api, order.id), 1, "the order exists once on the server");
  await sync(database, glue); // the server's order and claim come back into the same records
  const orders = await rows(database, "orders");
  assert.equal(orders.filter((r) => r.id === order.id).length, 1);
  assert.notEqual(orders.find((r) => r.id === order.id)?.status, "local", "the server's status replaced the local one");
  assert.equal((await rows(database, "claims")).find((r) => r.id === claimId)?._status, "synced");
  await assertEqualsServer(database, glue, truth);

  // HQ: a promotion for this dealer only (upsert), a stock band moved (update), then the
  // promotion archived (delete).
  const dealerScope = Object.keys(truth.store.cursor()).find((s) => s.startsWith("dealer:")) as string;
  const code = `WM-${randomUUID().slice(0, 8)}`;
  const made = await hq.post("/hq/promotions", {
    body: {
      code,
      name: "WatermelonDB glue test",
      mechanic: { kind: "display_fee", amount: 100_00, maxImages: 3, autoApproveLimit: 0, minConfidence: 0.85, minQty: 1 },
      currency: "CNY",
      priority: 0,
      stackable: true,
      eligibility: { dealerIds: [dealerScope.slice("dealer:".length)] },
    },
  });
  await hq.post("/hq/promotions/{promotion_id}/publish", { path: { promotion_id: made.id } });
  const band = (await rows(database, "stock_bands"))[0] as Record<string, unknown>;
  assert.equal(band.band, "in_stock");
  await feed(0);
  await sync(database, glue);
  assert.equal((await rows(database, "promotions")).filter((r) => r.code === code).length, 1, "the new promotion arrived");
  const moved = (await rows(database, "stock_bands")).find((r) => r.id === band.id);
  assert.equal(moved?.band, "out", "the stock band was updated");
  await assertEqualsServer(database, glue, truth);
  await hq.post("/hq/promotions/{promotion_id}/archive", { path: { promotion_id: made.id } });
  await sync(database, glue);
  assert.equal((await rows(database, "promotions")).filter((r) => r.code === code).length, 0, "the archived promotion was deleted");
  await assertEqualsServer(database, glue, truth);
  await feed(300);
});

test("The glue: a number WatermelonDB never stored pulls the same changes again; an unknown one pulls everything", async () => {
  const http = await login("dealer04");
  const storage = new MemoryStorage();
  const database = openDatabase();
  const glue = watermelonSync({ database, sync: new SyncClient({ http, storage }), storage, tables: TABLES });
  const first = await glue.pullChanges({ lastPulledAt: undefined, schemaVersion: 1, migration: null as never });
  assert.ok("timestamp" in first);
  // The app died before WatermelonDB stored `first.timestamp`: it sends nothing again.
  const again = await glue.pullChanges({ lastPulledAt: undefined, schemaVersion: 1, migration: null as never });
  assert.ok("timestamp" in again && again.timestamp > first.timestamp);
  assert.deepEqual(again.changes, first.changes);
  // Up to date: nothing new.
  const after = await glue.pullChanges({ lastPulledAt: again.timestamp, schemaVersion: 1, migration: null as never });
  assert.ok("changes" in after);
  for (const set of Object.values(after.changes as Record<string, { updated: unknown[]; deleted: unknown[] }>)) assert.deepEqual([set.updated.length, set.deleted.length], [0, 0]);
  const unknown = await glue.pullChanges({ lastPulledAt: 999, schemaVersion: 1, migration: null as never });
  assert.ok("changes" in unknown);
  assert.deepEqual(unknown.changes, first.changes, "a number the glue does not know is a first sync");
});

test("The glue: 409 cursor_ahead resets the scope, and the reset deletes its records the snapshot lacks", { timeout: 60_000 }, async () => {
  const http = await login("dealer04");
  const storage = new MemoryStorage();
  const database = openDatabase();
  const glue = watermelonSync({ database, sync: new SyncClient({ http, storage }), storage, tables: TABLES });
  const truth = new SyncClient({ http: await login("dealer04"), storage: new MemoryStorage() });
  await sync(database, glue);
  // A promotion of promo:all the server does not have (as after the server restored a backup),
  // and a stored cursor for that scope ahead of the server.
  await database.write(async () => {
    await database.batch(
      database.get("promotions").prepareCreateFromDirtyRaw({ id: "promo:all|GONE", scope: "promo:all", key: "GONE", data: "{}", _status: "synced" }),
    );
  });
  const book = JSON.parse(storage.get("channelhub:watermelon:cursors") as string) as { cursors: Record<string, Record<string, number>> };
  for (const cursor of Object.values(book.cursors)) cursor["promo:all"] = 1_000_000;
  storage.set("channelhub:watermelon:cursors", JSON.stringify(book));
  await sync(database, glue);
  const ids = (await rows(database, "promotions")).map((r) => r.id);
  assert.ok(!ids.includes("promo:all|GONE"), "the record the snapshot lacks is deleted");
  assert.ok(ids.some((id) => String(id).startsWith("promo:all|")), "the snapshot's records are there");
  await assertEqualsServer(database, glue, truth);
});
