import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiError, SyncClient, TransportError, type Outcome } from "../src/index.js";
import { FaultProxy, countOrders, device, orderArgs } from "./helpers.js";

const proxy = new FaultProxy();
let base = "";
before(async () => {
  base = await proxy.start();
});
after(async () => {
  await proxy.stop();
});

/** Apply `fault` to the first `count` requests to `path`, forward everything else. */
function faultFirst(path: string, count: number, fault: ReturnType<typeof proxy.fault>) {
  let left = count;
  proxy.fault = (req) => {
    if (req.url?.startsWith(path) && left > 0) {
      left -= 1;
      return fault;
    }
    return "forward";
  };
}

test("a push whose answer is lost is pushed again with the same mid: one order", async () => {
  const phone = await device("dealer03", { base });
  const order = await orderArgs(phone.api);
  phone.sync.enqueue("order.create", order, order.id);
  faultFirst("/sync/push", 1, "drop-answer");
  await assert.rejects(phone.sync.push(), TransportError);
  assert.equal(phone.sync.store.pending().length, 1, "kept: no result arrived");
  const outcomes: Outcome[] = [];
  phone.sync.on("outcome", (o) => outcomes.push(o));
  await phone.sync.push();
  assert.equal(outcomes[0]?.mid, 1);
  assert.equal(outcomes[0]?.replayed, true, "the server had applied it and replays the result");
  assert.equal(await countOrders(phone.api, order.id), 1);
});

test("503 with Retry-After: the call waits as told, then succeeds", async () => {
  const phone = await device("dealer03", { base });
  let refused = false;
  proxy.fault = (req, _body, res) => {
    if (req.url !== "/sync/pull" || refused) return "forward";
    refused = true;
    const problem = { type: "about:blank", title: "busy", status: 503, code: "unavailable", detail: "busy", instance: "/sync/pull" };
    res.writeHead(503, { "Content-Type": "application/problem+json", "Retry-After": "1" });
    res.end(JSON.stringify(problem));
    return "handled";
  };
  const start = proxy.seen.length;
  await phone.sync.pull();
  const pulls = proxy.seen.slice(start).filter((s) => s.path === "/sync/pull");
  assert.ok(pulls.length >= 2);
  const waited = (pulls[1]?.at ?? 0) - (pulls[0]?.at ?? 0);
  assert.ok(waited >= 1000, `waited ${waited} ms`);
  assert.ok(waited < 2500, `waited ${waited} ms (no extra backoff on top of Retry-After)`);
  assert.ok(Object.keys(phone.sync.store.cursor()).length > 0);
});

test("a truncated pull answer changes nothing; the next pull applies the page", async () => {
  const phone = await device("dealer03", { base });
  faultFirst("/sync/pull", 1, { truncate: 120 });
  await assert.rejects(phone.sync.pull(), (err: unknown) => {
    assert.ok(err instanceof TransportError);
    assert.equal(err.code, "truncated_body");
    return true;
  });
  assert.deepEqual(phone.sync.store.cursor(), {});
  assert.deepEqual(phone.sync.store.scopeNames(), []);
  assert.ok((await phone.sync.pull()) > 0);
});

test("409 mid_gap: the queue is numbered again from the server's expectedMid and pushed", async () => {
  const phone = await device("dealer03");
  const order = await orderArgs(phone.api);
  phone.sync.enqueue("order.create", order, order.id);
  // Lost queue state: the stored queue's mids jumped ahead of what the server has.
  const key = "channelhub:queue";
  const queue = JSON.parse(phone.storage.get(key) as string);
  queue.pending[0].mid = 40;
  queue.nextMid = 41;
  phone.storage.set(key, JSON.stringify(queue));
  const restarted = new SyncClient({ http: phone.http, storage: phone.storage });
  assert.equal(restarted.store.pending()[0]?.mid, 40);
  await restarted.push();
  const [outcome] = restarted.store.outcomes();
  assert.equal(outcome?.mid, 1, "renumbered to the server's expectedMid");
  assert.notEqual(outcome?.status, "rejected");
  assert.equal(restarted.enqueue("order.cancel", { id: order.id }), 2);
  assert.equal(await countOrders(phone.api, order.id), 1);
});

test("409 cursor_ahead: the scope is dropped and pulled again from scratch", async () => {
  const phone = await device("dealer07");
  await phone.sync.pull();
  const cursor = phone.sync.store.cursor();
  const priceScope = Object.keys(cursor).find((s) => s.startsWith("price:")) as string;
  const before = phone.sync.store.state(priceScope);
  // The server was restored from a backup: our cursor is ahead of it.
  const key = "channelhub:manifest";
  const manifest = JSON.parse(phone.storage.get(key) as string);
  manifest.cursor[priceScope] = 10_000_000;
  phone.storage.set(key, JSON.stringify(manifest));
  const restarted = new SyncClient({ http: phone.http, storage: phone.storage });
  const resets: string[] = [];
  restarted.on("change", (c) => resets.push(...c.resets));
  await restarted.pull();
  assert.ok(resets.includes(priceScope));
  assert.deepEqual(restarted.store.cursor(), cursor);
  assert.deepEqual(restarted.store.state(priceScope), before);
});

test("426 upgrade_required: the app is told to update, and pushes still go through", async () => {
  const phone = await device("dealer03", { base });
  // The real server answers 426 to an old protocol version: make the pulls look old.
  proxy.fault = (req, body) => {
    if (req.url !== "/sync/pull") return "forward";
    req.headers["x-sync-protocol"] = "0";
    return { rewriteBody: Buffer.from(JSON.stringify({ ...JSON.parse(String(body)), protocol: 0 })) };
  };
  const told: number[][] = [];
  phone.sync.on("upgradeRequired", (u) => told.push(u.supported));
  await assert.rejects(phone.sync.pull(), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 426);
    assert.equal(err.code, "upgrade_required");
    return true;
  });
  assert.deepEqual(told, [[1]]);
  assert.equal(phone.sync.upgradeRequired, true);
  const order = await orderArgs(phone.api);
  phone.sync.enqueue("order.create", order, order.id);
  assert.equal(await phone.sync.push(), 1);
  assert.equal(await countOrders(phone.api, order.id), 1);
  proxy.fault = () => "forward";
});

test("403 client_forbidden (the client id is another user's): a new client id, the queue pushed once", async () => {
  const mine = await device("dealer11");
  const first = await orderArgs(mine.api);
  mine.sync.enqueue("order.create", first, first.id);
  await mine.sync.push(); // the client id is now dealer11's on the server
  // The same storage (its client id) in the hands of another user.
  const other = await device("dealer12", { storage: mine.storage });
  const before = other.sync.clientId;
  const order = await orderArgs(other.api);
  other.sync.enqueue("order.create", order, order.id);
  await other.sync.push();
  assert.notEqual(other.sync.clientId, before);
  const [outcome] = other.sync.store.outcomes();
  assert.equal(outcome?.mid, 1);
  assert.notEqual(outcome?.status, "rejected");
  assert.equal(await countOrders(other.api, order.id), 1);
});

test("what the server would refuse for a whole batch is refused at enqueue, so it cannot block the queue", async () => {
  const phone = await device("dealer11");
  assert.throws(() => phone.sync.enqueue("order.cancel", { id: "x" }, "bad\u0000key"), TypeError);
  assert.throws(() => phone.sync.enqueue("order.cancel", { id: "x" }, "k".repeat(201)), TypeError);
  assert.throws(() => phone.sync.enqueue("order.cancel", { id: "x" }, ""), TypeError);
  assert.deepEqual(phone.sync.store.pending(), []);
});
