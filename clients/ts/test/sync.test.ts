import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import {
  HttpClient,
  MemoryStorage,
  SyncClient,
  TransportError,
  type KeyValueStorage,
  type Outcome,
} from "../src/index.js";
import { countOrders, device, orderArgs, serverOrder, transport } from "./helpers.js";

function copyOf(storage: KeyValueStorage): MemoryStorage {
  const copy = new MemoryStorage();
  for (const key of storage.keys()) copy.set(key, storage.get(key) as string);
  return copy;
}

test("an order placed offline is queued, survives a restart with its mid, then is pushed once", async () => {
  const online = await device("dealer02");
  const order = await orderArgs(online.api);
  // Offline: nothing listens on the server's address.
  const offlineHttp = new HttpClient({
    baseUrl: "http://127.0.0.1:9",
    transport: transport(),
    tokens: online.http.tokens,
  });
  const storage = new MemoryStorage();
  const offline = new SyncClient({ http: offlineHttp, storage });
  const mid = offline.enqueue("order.create", order, order.id);
  assert.equal(mid, 1);
  await assert.rejects(offline.sync(), TransportError);
  assert.deepEqual(
    offline.store.pending().map((m) => m.mid),
    [1],
    "still queued after a failed push",
  );

  // The app is killed and started again, now online: same client id, same queue.
  const restarted = new SyncClient({ http: online.http, storage });
  assert.equal(restarted.clientId, offline.clientId);
  assert.deepEqual(restarted.store.pending(), offline.store.pending());
  const outcomes: Outcome[] = [];
  restarted.on("outcome", (o) => outcomes.push(o));
  await restarted.sync();
  assert.equal(outcomes.length, 1);
  const [outcome] = outcomes as [Outcome];
  assert.equal(outcome.mid, 1);
  assert.equal(outcome.businessKey, order.id);
  assert.ok(outcome.status === "applied" || outcome.status === "amended", outcome.status);
  assert.equal(outcome.replayed, false);
  assert.deepEqual(restarted.store.pending(), []);
  assert.equal((await serverOrder(online.api, order.id))?.id, order.id);
  // The outcome also reached the dealer's scope, for the dealer's other devices.
  const dealerScope = `dealer:${online.http.tokens?.dealerId}`;
  const published = restarted.store.getEntry(
    dealerScope,
    "mutation_result",
    `${restarted.clientId}:1`,
  ) as { businessKey: string; status: string } | undefined;
  assert.equal(published?.businessKey, order.id);
  assert.equal(published?.status, outcome.status);
  // The next mid continues after the pushed one.
  assert.equal(restarted.enqueue("order.cancel", { id: order.id }), 2);
});

test("replay: the same mid pushed twice (answer lost) and the same business key from a reinstall give one order", async () => {
  const phone = await device("dealer02");
  const order = await orderArgs(phone.api);
  phone.sync.enqueue("order.create", order, order.id);
  const beforePush = copyOf(phone.storage); // as if the push answer never arrived
  await phone.sync.push();
  const first = phone.sync.store.outcomes()[0];
  assert.ok(first && first.replayed === false);

  const again = new SyncClient({ http: phone.http, storage: beforePush });
  assert.equal(again.clientId, phone.sync.clientId);
  const replays: Outcome[] = [];
  again.on("outcome", (o) => replays.push(o));
  await again.push();
  assert.equal(replays.length, 1);
  assert.equal(replays[0]?.mid, first.mid);
  assert.equal(replays[0]?.replayed, true);
  assert.equal(replays[0]?.status, first.status);

  // Reinstalled: new client id, the same order (business key) queued again.
  const reinstalled = new SyncClient({ http: phone.http, storage: new MemoryStorage() });
  assert.notEqual(reinstalled.clientId, phone.sync.clientId);
  reinstalled.enqueue("order.create", order, order.id);
  await reinstalled.push();
  const [stored] = reinstalled.store.outcomes();
  assert.equal(stored?.replayed, true);
  assert.equal(stored?.status, first.status);
  assert.equal(await countOrders(phone.api, order.id), 1);
});

test("a rejected mutation carries its message in zh-CN and English and blocks nothing after it", async () => {
  const phone = await device("dealer02");
  const good = await orderArgs(phone.api);
  const bad = { id: randomUUID(), lines: [{ sku: "NO-SUCH-SKU", qty: 1 }] };
  phone.sync.enqueue("order.create", bad, bad.id);
  phone.sync.enqueue("order.create", good, good.id);
  const outcomes: Outcome[] = [];
  phone.sync.on("outcome", (o) => outcomes.push(o));
  await phone.sync.push();
  assert.deepEqual(
    outcomes.map((o) => o.businessKey),
    [bad.id, good.id],
  );
  const [rejected, placed] = outcomes as [Outcome, Outcome];
  assert.equal(rejected.status, "rejected");
  assert.ok(rejected.reason);
  assert.match(rejected.message?.["zh-CN"] ?? "", /[\u4e00-\u9fff]/);
  assert.match(rejected.message?.en ?? "", /[a-z]/);
  assert.notEqual(placed.status, "rejected");
  assert.equal(await serverOrder(phone.api, bad.id), null);
});

test("pull pages to the head, each page with its cursor; a restarted client resumes from it", async () => {
  const paged = await device("dealer06", { pageSize: 7 });
  const pages: number[] = [];
  paged.sync.on("change", (c) => pages.push(c.changes));
  const applied = await paged.sync.pull();
  assert.ok(pages.length > 2, `several pages (${pages.length})`);
  assert.ok(pages.every((n) => n <= 7));
  assert.equal(applied, pages.reduce((a, b) => a + b, 0));
  const cursor = paged.sync.store.cursor();
  assert.ok(Object.keys(cursor).some((s) => s.startsWith("dealer:")));
  assert.ok(Object.values(cursor).every((v) => v >= 0), "no snapshot left in progress");

  // One big page gives the same replica.
  const whole = await device("dealer06");
  await whole.sync.pull();
  assert.deepEqual(whole.sync.store.cursor(), cursor);
  for (const scope of whole.sync.store.scopeNames()) {
    assert.deepEqual(paged.sync.store.state(scope), whole.sync.store.state(scope), scope);
  }

  // Restarted on the same storage: same cursor and data, and nothing new to pull.
  const restarted = new SyncClient({ http: paged.http, storage: paged.storage, pageSize: 7 });
  assert.deepEqual(restarted.store.cursor(), cursor);
  assert.equal(await restarted.pull(), 0);
  assert.ok(restarted.store.entities("price").length > 0);
});
