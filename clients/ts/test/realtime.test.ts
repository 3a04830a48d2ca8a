import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ApiClient,
  HttpClient,
  Realtime,
  SyncClient,
  MemoryStorage,
  type Outcome,
  type SocketHandlers,
  type TokenPair,
  type Transport,
} from "../src/index.js";
import { TcpProxy, device, login, orderArgs, transport, until } from "./helpers.js";

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

test("a dropped connection reconnects with backoff, then pushes what was queued meanwhile", async () => {
  const proxy = new TcpProxy();
  const base = await proxy.start();
  try {
    const phone = await device("dealer08", { base });
    const realtime = new Realtime(phone.sync, { minDelayMs: 200 });
    realtime.start();
    try {
      assert.ok(await until(() => realtime.state === "open", 10_000));
      const order = await orderArgs(phone.api);
      const outcomes: Outcome[] = [];
      phone.sync.on("outcome", (o) => outcomes.push(o));
      proxy.cut();
      assert.ok(await until(() => realtime.state === "waiting", 5000), "the drop is noticed");
      phone.sync.enqueue("order.create", order, order.id); // offline meanwhile
      assert.ok(await until(() => realtime.state === "open", 10_000), "reconnected");
      assert.equal(realtime.connections, 2);
      assert.ok(await until(() => outcomes.length === 1, 10_000), "pushed on reconnect");
      assert.equal(outcomes[0]?.businessKey, order.id);
    } finally {
      realtime.stop();
    }
  } finally {
    await proxy.stop();
  }
});

test("4401 on the socket: the token is refreshed and the socket reconnects", async () => {
  const fresh = await login("dealer08");
  const http = new HttpClient({
    baseUrl: fresh.baseUrl,
    transport: transport(),
    tokens: { ...(fresh.tokens as TokenPair), accessToken: "expired-token" },
  });
  const sync = new SyncClient({ http, storage: new MemoryStorage() });
  const realtime = new Realtime(sync);
  realtime.start();
  try {
    assert.ok(await until(() => realtime.state === "open", 10_000));
    assert.equal(realtime.connections, 2, "refused once (4401), then served");
    assert.notEqual(http.accessToken, "expired-token");
  } finally {
    realtime.stop();
  }
});

/** Real HTTP to the server; the socket's frames are the test's (to script pokes and silence). */
function scriptedSocket(): { transport: Transport; frames: (f: object) => void; opened: () => number } {
  const real = transport();
  let handlers: SocketHandlers | null = null;
  let count = 0;
  return {
    transport: {
      request: (req) => real.request(req),
      upload: (req) => real.upload(req),
      connect: (_url, h) => {
        handlers = h;
        count += 1;
        setTimeout(() => h.onOpen());
        return { close: () => undefined };
      },
    },
    frames: (f) => handlers?.onMessage(JSON.stringify(f)),
    opened: () => count,
  };
}

test("pokes: one ahead of the cursor pulls; one already applied or for a scope not ours pulls once at most", async () => {
  const fresh = await login("dealer09");
  const script = scriptedSocket();
  const http = new HttpClient({ baseUrl: fresh.baseUrl, transport: script.transport, tokens: fresh.tokens });
  const sync = new SyncClient({ http, storage: new MemoryStorage() });
  let pulls = 0;
  const realPull = sync.pull.bind(sync);
  sync.pull = async () => {
    pulls += 1;
    return realPull();
  };
  const realtime = new Realtime(sync);
  realtime.start();
  try {
    script.frames({ type: "hello", protocol: 1, scopes: [], heartbeatInterval: 25, pollInterval: 60 });
    assert.ok(await until(() => pulls === 1 && Object.keys(sync.store.cursor()).length > 0, 10_000));
    const [scope, version] = Object.entries(sync.store.cursor())[0] as [string, number];
    script.frames({ type: "poke", scope, version }); // already have it
    script.frames({ type: "poke", scope: "price:region:nowhere", version: 5 });
    assert.ok(await until(() => pulls === 2, 5000));
    await sync.sync();
    const after = pulls;
    script.frames({ type: "poke", scope: "price:region:nowhere", version: 5 }); // tried already
    script.frames({ type: "poke", scope, version: version + 1 }); // ahead: pull
    assert.ok(await until(() => pulls === after + 1, 5000));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pulls, after + 1);
  } finally {
    realtime.stop();
  }
});

test("no heartbeat for twice the interval: the connection is treated as dead and replaced", async () => {
  const fresh = await login("dealer09");
  const script = scriptedSocket();
  const http = new HttpClient({ baseUrl: fresh.baseUrl, transport: script.transport, tokens: fresh.tokens });
  const sync = new SyncClient({ http, storage: new MemoryStorage() });
  const realtime = new Realtime(sync, { minDelayMs: 50, maxDelayMs: 100 });
  realtime.start();
  try {
    script.frames({ type: "hello", protocol: 1, scopes: [], heartbeatInterval: 0.5, pollInterval: 60 });
    assert.equal(realtime.state, "open");
    for (let i = 0; i < 6; i += 1) {
      await new Promise((r) => setTimeout(r, 250)); // heartbeats keep it alive past 2 x 0.5 s
      script.frames({ type: "heartbeat" });
    }
    assert.equal(script.opened(), 1);
    const silent = Date.now();
    assert.ok(await until(() => script.opened() === 2, 5000), "silent for 1 s: reconnected");
    assert.ok(Date.now() - silent >= 950, "not before 2 x heartbeatInterval");
  } finally {
    realtime.stop();
  }
});
