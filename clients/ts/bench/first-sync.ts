/**
 * First sync at scale: a dealer of a 20,000-SKU brand (prices of its region, tier and the
 * default list, stock bands of the warehouse serving it) syncs for the first time in Node
 * against the local server. Prints wall time, bytes on the wire (through a counting TCP
 * proxy, headers included) and whether the replica fits WeChat storage.
 *
 * `make sdk-bench` runs it: `python3 test/serve.py --scale 20000 -- node dist/bench/first-sync.js`
 * (seed-scale: 20,000 SKUs with regional price lists); stock for every SKU goes in here
 * through HQ's ERP feed, so the bands are published as in production.
 * Goals (issue 20): under 2 s, under 2 MB on the wire, within WeChat's 10 MB.
 */

import { ApiClient, MemoryStorage, StorageFullError, SyncClient, WX_TOTAL_LIMIT } from "../src/index.js";
import { createWechatSdk } from "../src/wechat.js";
import { PASSWORD, TcpProxy, login } from "../test/helpers.js";
import { WxShim } from "../test/wx-shim.js";

const DEALER = "dealer01"; // in Zhejiang: served by WH-HZ
const WAREHOUSE = "WH-HZ";
const SKUS = 20_000;
const FEED_BATCH = 5_000;

/** Stock for every scale SKU (set), in ERP feed batches; quantities give every band. */
async function feedStock(): Promise<void> {
  const hq = new ApiClient(await login("hq"));
  for (let start = 0; start < SKUS; start += FEED_BATCH) {
    const items = Array.from({ length: Math.min(FEED_BATCH, SKUS - start) }, (_, i) => {
      const n = start + i + 1;
      return { warehouseCode: WAREHOUSE, skuCode: `SC${String(n).padStart(6, "0")}`, mode: "set" as const, quantity: (n * 7919) % 400 };
    });
    const answer = await hq.post("/hq/inventory/feed", { body: { batchId: `bench-${start}`, items } });
    if (answer.rejected) throw new Error(`feed rejected ${answer.rejected} items`);
  }
}

interface Run {
  label: string;
  ms: number;
  /** Of `ms`, waiting for pull answers (server, wire, gzip and JSON decoding). */
  waiting: number;
  up: number;
  down: number;
  requests: number;
  counts: Record<string, number>;
  stored: number | string;
}

function countEntities(sync: SyncClient): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const scope of sync.store.scopeNames()) {
    for (const data of sync.store.state(scope).keys()) {
      const entity = data.split("\u0000")[0] as string;
      counts[entity] = (counts[entity] ?? 0) + 1;
    }
  }
  return counts;
}

/** One first sync through a fresh counting proxy. */
async function firstSync(label: string, make: (base: string) => Promise<{ sync: SyncClient; stored: () => number }>): Promise<Run> {
  const proxy = new TcpProxy();
  const base = await proxy.start();
  const { sync, stored } = await make(base);
  let requests = 0;
  let waiting = 0;
  const pullPage = sync.pullPage.bind(sync);
  sync.pullPage = async (cursor) => {
    const t = performance.now();
    try {
      return await pullPage(cursor);
    } finally {
      requests += 1;
      waiting += performance.now() - t;
    }
  };
  const up = proxy.bytesUp;
  const down = proxy.bytesDown;
  const t0 = performance.now();
  let size: number | string;
  try {
    await sync.pull();
    size = stored();
  } catch (err) {
    if (!(err instanceof StorageFullError)) throw err;
    size = `does not fit: ${err.message}`;
  }
  const ms = performance.now() - t0;
  await proxy.stop();
  return { label, ms, waiting, up: proxy.bytesUp - up, down: proxy.bytesDown - down, requests, counts: countEntities(sync), stored: size };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

async function main(): Promise<void> {
  const t0 = performance.now();
  await feedStock();
  console.log(`stock for ${SKUS} SKUs fed to ${WAREHOUSE} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const runs: Run[] = [];
  runs.push(
    await firstSync("Node (fetch, memory)", async (base) => {
      const http = await login(DEALER, base);
      const sync = new SyncClient({ http, storage: new MemoryStorage(), pageSize: 100_000 });
      return { sync, stored: () => sync.store.dataBytes() };
    }),
  );
  runs.push(
    await firstSync("WeChat (wx shim, wx storage)", async (base) => {
      const wx = new WxShim();
      const sdk = createWechatSdk({ baseUrl: base, wx, pageSize: 100_000 });
      await sdk.http.login(DEALER, PASSWORD);
      return { sync: sdk.sync, stored: () => wx.getStorageInfoSync().currentSize * 1024 };
    }),
  );
  for (const run of runs) {
    const stored = typeof run.stored === "number" ? `${mb(run.stored)} stored (WeChat allows ${mb(WX_TOTAL_LIMIT)})` : run.stored;
    console.log(
      `${run.label}: first sync ${run.ms.toFixed(0)} ms (goal < 2000; ${run.waiting.toFixed(0)} ms waiting for answers, ` +
        `${(run.ms - run.waiting).toFixed(0)} ms applying), ${mb(run.down)} down + ${mb(run.up)} up on the wire ` +
        `(goal < 2 MB), ${run.requests} pages; ${JSON.stringify(run.counts)}; ${stored}`,
    );
  }
}

await main();
