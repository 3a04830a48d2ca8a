/**
 * 20 phones of 10 dealers (two devices each) order offline and sync through a network that
 * drops push answers after the server acted, answers 503 and cuts pull answers short; some
 * phones are killed mid-push (their results never stored), one is reinstalled (new client id,
 * the same orders queued again), and the server crashes (SIGKILL) and starts again on the same
 * database while the phones push and pull. Afterwards: no order lost, none doubled, and every
 * phone's replica equals what the server holds for its scopes.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { randomUUID } from "node:crypto";
import { ApiClient, HttpClient, MemoryStorage, SyncClient, type KeyValueStorage } from "../src/index.js";
import { FaultProxy, device, orderArgs, restartServer, sleep, transport, type Device } from "./helpers.js";

const proxy = new FaultProxy();
let base = "";
before(async () => {
  base = await proxy.start();
});
after(async () => {
  await proxy.stop();
});

/** A small seeded PRNG (mulberry32): the same faults on every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function copyOf(storage: KeyValueStorage): MemoryStorage {
  const copy = new MemoryStorage();
  for (const key of storage.keys()) copy.set(key, storage.get(key) as string);
  return copy;
}

/** How many orders of the phone's dealer carry each id. */
async function ordersById(phone: Device): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let cursor: string | null | undefined;
  do {
    const page = await phone.api.get("/mp/orders", { query: { limit: 100, ...(cursor ? { cursor } : {}) } });
    for (const o of page.items) counts.set(o.id, (counts.get(o.id) ?? 0) + 1);
    cursor = page.nextCursor;
  } while (cursor);
  return counts;
}

test("20 phones, faults, kills, a reinstall and a server crash: 0 orders lost, 0 doubled, replicas equal the server", async () => {
  const random = prng(20);
  const jitter = prng(21);
  proxy.fault = (req, _body, res) => {
    const roll = random();
    if (req.url === "/sync/push" && roll < 0.3) return "drop-answer";
    if (req.url === "/sync/push" && roll < 0.4) {
      res.writeHead(503, { "Content-Type": "application/problem+json", "Retry-After": "0" });
      res.end(JSON.stringify({ type: "about:blank", title: "busy", status: 503, code: "unavailable", detail: "busy", instance: req.url }));
      return "handled";
    }
    if (req.url === "/sync/pull" && roll < 0.15) return { truncate: 200 };
    return "forward";
  };
  const dealers = Array.from({ length: 10 }, (_, i) => `dealer${String(i + 1).padStart(2, "0")}`);
  const phones: Array<Device & { dealer: string }> = [];
  const placed = new Map<string, string>(); // order id -> its dealer
  const t0 = Date.now();
  await Promise.all(
    dealers.map(async (dealer) => {
      const first = await device(dealer, { base });
      // The dealer's second device: its own client id and storage, signed in as the same user.
      const http = new HttpClient({ baseUrl: base, transport: transport(), tokens: first.http.tokens });
      const storage = new MemoryStorage();
      const second = { http, api: new ApiClient(http), storage, sync: new SyncClient({ http, storage }) };
      const template = await orderArgs(first.api);
      for (const phone of [first, second]) {
        phones.push({ dealer, ...phone });
        for (let n = 0; n < 3; n += 1) {
          const order = { ...template, id: randomUUID() };
          phone.sync.enqueue("order.create", order, order.id);
          placed.set(order.id, dealer);
        }
      }
    }),
  );
  console.log(`# 20 phones signed in and queued 60 orders offline in ${Date.now() - t0} ms`);

  // Phones 0-4 are killed mid-push: the server applied the batch, the phone stored nothing.
  for (const phone of phones.slice(0, 5)) {
    const saved = copyOf(phone.storage);
    await phone.sync.push().catch(() => undefined);
    phone.storage = saved;
    phone.sync = new SyncClient({ http: phone.http, storage: saved });
  }
  // Phone 5 is reinstalled: new client id, its unsent orders queued again under the same keys.
  const reinstalled = phones[5] as Device;
  const queued = reinstalled.sync.store.pending();
  reinstalled.storage = new MemoryStorage();
  reinstalled.sync = new SyncClient({ http: reinstalled.http, storage: reinstalled.storage });
  for (const m of queued) {
    reinstalled.sync.enqueue("order.create", m.args as never, m.businessKey ?? undefined);
  }

  const t1 = Date.now();
  // Every phone syncs until its queue is empty and a pull went through (within 2 minutes,
  // backing off after failures). Once the phones have pushed 15 times, the server
  // crashes and comes back after a second on the same database, while they go on.
  let failures = 0;
  const pushes = () => proxy.seen.filter((r) => r.path === "/sync/push").length;
  let restarted = { pushesBefore: 0, settledBefore: 0, ms: 0 };
  let settled = 0;
  const crash = (async () => {
    while (pushes() < 15) await sleep(5);
    const at = Date.now();
    restarted = { pushesBefore: pushes(), settledBefore: settled, ms: 0 };
    await restartServer(1);
    restarted.ms = Date.now() - at;
  })();
  const deadline = Date.now() + 120_000;
  await Promise.all(
    phones.map(async (phone) => {
      for (let failed = 0; Date.now() < deadline; ) {
        try {
          await phone.sync.sync();
          if (phone.sync.store.pending().length === 0) {
            settled += 1;
            return;
          }
        } catch {
          failures += 1;
          failed += 1; // back off (50 ms doubling to 1 s, jittered) as an app would
          await sleep(Math.min(1000, 50 * 2 ** Math.min(failed, 5)) * (0.5 + jitter()));
        }
      }
      assert.fail(`${phone.dealer} did not settle in 2 minutes`);
    }),
  );
  await crash;
  assert.ok(restarted.settledBefore < phones.length, "the server crashed while phones still synced");
  assert.ok(proxy.unreachable > 0, `phones pushed or pulled while the server was down (${proxy.unreachable})`);
  console.log(
    `# server crashed after ${restarted.pushesBefore} pushes (${restarted.settledBefore} phones settled), ` +
      `back in ${restarted.ms} ms; ${proxy.unreachable} requests found it down`,
  );
  assert.ok(failures > 0, "the faults happened");
  const replayed = phones.reduce((n, p) => n + p.sync.store.outcomes().filter((o) => o.replayed).length, 0);
  assert.ok(replayed > 0, `killed phones' orders came back as replays (${replayed})`);
  console.log(`# settled in ${Date.now() - t1} ms`);
  proxy.fault = () => "forward";

  // 0 lost, 0 doubled.
  const t2 = Date.now();
  const held = new Map<Device, Map<string, number>>();
  for (const [id, dealer] of placed) {
    const dealerPhone = phones.find((p) => p.dealer === dealer) as Device;
    let counts = held.get(dealerPhone);
    if (!counts) {
      counts = await ordersById(dealerPhone);
      held.set(dealerPhone, counts);
    }
    assert.equal(counts.get(id), 1, id);
  }
  console.log(`# checked in ${Date.now() - t2} ms`);
  // Every phone's replica equals a fresh pull of its dealer's scopes.
  await Promise.all(phones.map((phone) => phone.sync.pull()));
  for (const phone of phones) {
    const truth = new SyncClient({ http: phone.http, storage: new MemoryStorage() });
    await truth.pull();
    assert.deepEqual(phone.sync.store.cursor(), truth.store.cursor(), phone.dealer);
    for (const scope of truth.store.scopeNames()) {
      assert.deepEqual(phone.sync.store.state(scope), truth.store.state(scope), `${phone.dealer} ${scope}`);
    }
  }
  console.log(`# ${phones.length} phones, ${placed.size} orders, ${failures} failed syncs retried, ${replayed} results replayed`);
});
