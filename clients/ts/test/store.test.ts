import assert from "node:assert/strict";
import { test } from "node:test";
import { LocalStore, MemoryStorage, type Transaction } from "../src/index.js";

/** Storage whose process "dies" at the n-th write: that write and all later ones are lost. */
class DyingStorage extends MemoryStorage {
  writes = 0;
  dieAt = Infinity;

  override set(key: string, value: string): void {
    this.writes += 1;
    if (this.writes >= this.dieAt) throw new Error("killed");
    super.set(key, value);
  }

  override remove(key: string): void {
    if (this.writes >= this.dieAt) throw new Error("killed");
    super.remove(key);
  }
}

const snapshot = (store: LocalStore) => ({
  cursor: store.cursor(),
  scopes: Object.fromEntries(store.scopeNames().sort().map((s) => [s, [...store.state(s)]])),
});

function seed(tx: Transaction) {
  for (let i = 0; i < 300; i += 1) tx.upsert("price:a", "price", `SKU${i}`, { unitPrice: i, name: "x".repeat(200) });
  for (let i = 0; i < 20; i += 1) tx.upsert("stock:b", "stock", `SKU${i}`, { band: "high" });
  tx.setCursor("price:a", 300);
  tx.setCursor("stock:b", 20);
}

function page(tx: Transaction) {
  tx.clearScope("stock:b");
  tx.upsert("stock:b", "stock", "SKU1", { band: "low" });
  tx.upsert("price:a", "price", "SKU5", { unitPrice: 999 });
  tx.delete("price:a", "price", "SKU299");
  tx.setCursor("price:a", 302);
  tx.setCursor("stock:b", 21);
}

test("killed at any write of a transaction, the store reopens as before or as after it", () => {
  const reference = new LocalStore(new MemoryStorage(), { pageBytes: 8 * 1024 });
  reference.transaction(seed);
  const before = snapshot(reference);
  reference.transaction(page);
  const after = snapshot(reference);
  assert.notDeepEqual(before, after);

  let sawBefore = false;
  let sawAfter = false;
  for (let dieAt = 1; dieAt < 40; dieAt += 1) {
    const storage = new DyingStorage();
    const store = new LocalStore(storage, { pageBytes: 8 * 1024, newClientId: () => "c-1" });
    store.transaction(seed);
    storage.writes = 0;
    storage.dieAt = dieAt;
    try {
      store.transaction(page);
    } catch {
      // the app was killed here
    }
    storage.dieAt = Infinity;
    const reopened = new LocalStore(storage, { pageBytes: 8 * 1024 });
    const state = snapshot(reopened);
    if (JSON.stringify(state) === JSON.stringify(before)) sawBefore = true;
    else {
      assert.deepEqual(state, after, `killed at write ${dieAt}`);
      sawAfter = true;
    }
    // No page of an unfinished transaction is left behind.
    const manifest = JSON.parse(storage.get("channelhub:manifest") as string);
    const named = new Set(Object.values(manifest.pages as Record<string, string[]>).flat());
    for (const key of storage.keys()) {
      if (key.startsWith("channelhub:page:")) assert.ok(named.has(key), `orphan ${key} (write ${dieAt})`);
    }
  }
  assert.ok(sawBefore && sawAfter);
});

test("a change rewrites only the page that holds it", () => {
  const storage = new MemoryStorage();
  const store = new LocalStore(storage, { pageBytes: 8 * 1024 });
  store.transaction(seed);
  const pagesBefore = new Set(storage.keys().filter((k) => k.startsWith("channelhub:page:")));
  assert.ok(pagesBefore.size > 5);
  store.transaction((tx) => tx.upsert("price:a", "price", "SKU150", { unitPrice: 1 }));
  const pagesAfter = new Set(storage.keys().filter((k) => k.startsWith("channelhub:page:")));
  const replaced = [...pagesBefore].filter((k) => !pagesAfter.has(k));
  const added = [...pagesAfter].filter((k) => !pagesBefore.has(k));
  assert.equal(replaced.length, 1);
  assert.equal(added.length, 1);
  assert.deepEqual(store.getEntry("price:a", "price", "SKU150"), { unitPrice: 1 });
});

test("mids are never reused: renumbering after mid_gap continues the sequence", () => {
  const storage = new MemoryStorage();
  const store = new LocalStore(storage);
  assert.equal(store.enqueue("order.create", {}, "a").mid, 1);
  assert.equal(store.enqueue("order.create", {}, "b").mid, 2);
  store.recordOutcomes([
    { mid: 1, name: "order.create", businessKey: "a", status: "applied", reason: null, detail: null, replayed: false },
  ]);
  const reopened = new LocalStore(storage);
  assert.deepEqual(reopened.pending().map((m) => m.mid), [2]);
  assert.equal(reopened.enqueue("order.cancel", {}, null).mid, 3);
  reopened.renumber(7);
  assert.deepEqual(new LocalStore(storage).pending().map((m) => [m.mid, m.businessKey]), [
    [7, "b"],
    [8, null],
  ]);
  assert.equal(new LocalStore(storage).enqueue("order.cancel", {}, null).mid, 9);
});
