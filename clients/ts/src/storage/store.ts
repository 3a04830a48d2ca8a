/**
 * The local replica and the mutation queue, on any `KeyValueStorage`.
 *
 * Layout (all under one prefix):
 * - `queue`: client id, next mid, pending mutations and recent outcomes — one key, so that
 *   taking a mid and queueing the mutation, or recording results and dequeuing them, is one
 *   write.
 * - `page:{gen}:{n}`: one page of one scope's entries (at most `pageBytes`, default 256 KB).
 * - `manifest`: the cursor and, per scope, its page keys. Writing it is the commit.
 *
 * A transaction (one pull page with its cursor) writes the pages it changed under new keys,
 * then the manifest, then removes the pages no longer named: killed at any point, the store
 * reopens as before or as after the transaction, never between; pages no manifest names are
 * swept on open. Only pages a change touches are rewritten, so a price change in a
 * 20,000-SKU scope rewrites one page.
 */

import { utf8Bytes, type KeyValueStorage } from "./kv.js";

export type Cursor = Record<string, number>;

export interface QueuedMutation {
  mid: number;
  name: string;
  args: unknown;
  businessKey: string | null;
}

export interface StoredOutcome {
  mid: number;
  name: string;
  businessKey: string | null;
  status: "applied" | "amended" | "rejected";
  reason: string | null;
  detail: unknown;
  replayed: boolean;
}

interface QueueState {
  clientId: string;
  nextMid: number;
  pending: QueuedMutation[];
  outcomes: StoredOutcome[];
}

type Entry = [entity: string, key: string, data: unknown];

interface Page {
  key: string | null; // null: changed in this transaction, not yet written
  entries: Map<string, Entry>;
  bytes: number;
}

interface ScopeState {
  pages: Page[];
  where: Map<string, number>; // entry id -> page index
}

interface Manifest {
  gen: number;
  cursor: Cursor;
  pages: Record<string, string[]>;
}

const entryId = (entity: string, key: string) => `${entity}\u0000${key}`;
const entryBytes = (e: Entry) => utf8Bytes(JSON.stringify(e)) + 1;

/** Operations of one local transaction (see `LocalStore.transaction`). */
export interface Transaction {
  clearScope(scope: string): void;
  dropCursor(scope: string): void;
  upsert(scope: string, entity: string, key: string, data: unknown): void;
  delete(scope: string, entity: string, key: string): void;
  setCursor(scope: string, version: number): void;
}

export interface LocalStoreOptions {
  prefix?: string;
  pageBytes?: number;
  /** How many outcomes to keep locally (default 200). */
  keepOutcomes?: number;
  /** The id of a new install (default: random). */
  newClientId?: () => string;
}

function randomId(): string {
  let id = "c-";
  for (let i = 0; i < 24; i += 1) id += Math.floor(Math.random() * 36).toString(36);
  return id;
}

export class LocalStore {
  private readonly kv: KeyValueStorage;
  private readonly prefix: string;
  private readonly pageBytes: number;
  private readonly keepOutcomes: number;
  private manifest: Manifest;
  private scopes = new Map<string, ScopeState>();
  private queue: QueueState;

  constructor(kv: KeyValueStorage, options: LocalStoreOptions = {}) {
    this.kv = kv;
    this.prefix = options.prefix ?? "channelhub:";
    this.pageBytes = options.pageBytes ?? 256 * 1024;
    this.keepOutcomes = options.keepOutcomes ?? 200;
    const queue = this.read<QueueState>("queue");
    if (queue) this.queue = queue;
    else {
      this.queue = { clientId: (options.newClientId ?? randomId)(), nextMid: 1, pending: [], outcomes: [] };
      this.write("queue", this.queue);
    }
    this.manifest = this.read<Manifest>("manifest") ?? { gen: 0, cursor: {}, pages: {} };
    this.load();
  }

  private read<T>(name: string): T | null {
    const text = this.kv.get(this.prefix + name);
    return text === null ? null : (JSON.parse(text) as T);
  }

  private write(name: string, value: unknown): void {
    this.kv.set(this.prefix + name, JSON.stringify(value));
  }

  private load(): void {
    const named = new Set<string>();
    for (const [scope, keys] of Object.entries(this.manifest.pages)) {
      const state: ScopeState = { pages: [], where: new Map() };
      for (const key of keys) {
        named.add(key);
        const text = this.kv.get(key);
        if (text === null) throw new Error(`local store damaged: page ${key} is missing`);
        const entries = new Map<string, Entry>();
        for (const e of JSON.parse(text) as Entry[]) {
          entries.set(entryId(e[0], e[1]), e);
          state.where.set(entryId(e[0], e[1]), state.pages.length);
        }
        state.pages.push({ key, entries, bytes: utf8Bytes(text) });
      }
      this.scopes.set(scope, state);
    }
    // Pages of a transaction that never committed (the app was killed mid-apply).
    const pagePrefix = `${this.prefix}page:`;
    for (const key of this.kv.keys()) {
      if (key.startsWith(pagePrefix) && !named.has(key)) this.kv.remove(key);
    }
  }

  // -- the replica -------------------------------------------------------------------

  get clientId(): string {
    return this.queue.clientId;
  }

  cursor(): Cursor {
    return { ...this.manifest.cursor };
  }

  /** The replica of `scope`: `Map("entity\0key" -> [entity, key, data])`, read-only. */
  state(scope: string): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const page of this.scopes.get(scope)?.pages ?? []) {
      for (const [entity, key, data] of page.entries.values()) out.set(entryId(entity, key), data);
    }
    return out;
  }

  /** One entry's data, or undefined. */
  getEntry(scope: string, entity: string, key: string): unknown {
    const state = this.scopes.get(scope);
    const id = entryId(entity, key);
    const index = state?.where.get(id);
    return index === undefined ? undefined : state?.pages[index]?.entries.get(id)?.[2];
  }

  /** All entries of `entity` across scopes (e.g. every `price` the dealer sees). */
  entities(entity: string): Array<{ scope: string; key: string; data: unknown }> {
    const out: Array<{ scope: string; key: string; data: unknown }> = [];
    for (const [scope, state] of this.scopes) {
      for (const page of state.pages) {
        for (const [e, key, data] of page.entries.values()) if (e === entity) out.push({ scope, key, data });
      }
    }
    return out;
  }

  scopeNames(): string[] {
    return [...new Set([...this.scopes.keys(), ...Object.keys(this.manifest.cursor)])];
  }

  /** Bytes of replica data stored (pages only). */
  dataBytes(): number {
    let total = 0;
    for (const state of this.scopes.values()) for (const page of state.pages) total += page.bytes;
    return total;
  }

  /**
   * Apply `fn`'s changes and cursor moves atomically: all stored, or (it throws, or storage
   * is full) none. Returns what `fn` returned.
   */
  transaction<T>(fn: (tx: Transaction) => T): T {
    const working = new Map<string, ScopeState>();
    const cursor = { ...this.manifest.cursor };
    const scopeOf = (scope: string): ScopeState => {
      let state = working.get(scope);
      if (!state) {
        const old = this.scopes.get(scope);
        state = { pages: old ? [...old.pages] : [], where: new Map(old?.where ?? []) };
        working.set(scope, state);
      }
      return state;
    };
    const editable = (state: ScopeState, index: number): Page => {
      const page = state.pages[index] as Page;
      if (page.key === null) return page;
      const copy: Page = { key: null, entries: new Map(page.entries), bytes: page.bytes };
      state.pages[index] = copy;
      return copy;
    };
    const remove = (state: ScopeState, id: string) => {
      const index = state.where.get(id);
      if (index === undefined) return;
      const page = editable(state, index);
      const old = page.entries.get(id);
      if (old) page.bytes -= entryBytes(old);
      page.entries.delete(id);
      state.where.delete(id);
    };
    const tx: Transaction = {
      clearScope: (scope) => {
        working.set(scope, { pages: [], where: new Map() });
      },
      dropCursor: (scope) => {
        delete cursor[scope];
      },
      upsert: (scope, entity, key, data) => {
        const state = scopeOf(scope);
        const id = entryId(entity, key);
        const entry: Entry = [entity, key, data];
        const size = entryBytes(entry);
        const at = state.where.get(id);
        if (at !== undefined) {
          // In place when it still fits: only the page holding it is rewritten.
          const held = state.pages[at] as Page;
          const old = held.entries.get(id) as Entry;
          if (held.bytes - entryBytes(old) + size <= this.pageBytes || held.entries.size === 1) {
            const page = editable(state, at);
            page.entries.set(id, entry);
            page.bytes += size - entryBytes(old);
            return;
          }
          remove(state, id);
        }
        let index = state.pages.length - 1;
        const last = state.pages[index];
        if (!last || (last.bytes + size > this.pageBytes && last.entries.size > 0)) {
          state.pages.push({ key: null, entries: new Map(), bytes: 2 });
          index = state.pages.length - 1;
        }
        const page = editable(state, index);
        page.entries.set(id, entry);
        page.bytes += size;
        state.where.set(id, index);
      },
      delete: (scope, entity, key) => {
        remove(scopeOf(scope), entryId(entity, key));
      },
      setCursor: (scope, version) => {
        cursor[scope] = version;
      },
    };
    const result = fn(tx);
    this.commit(working, cursor);
    return result;
  }

  private commit(working: Map<string, ScopeState>, cursor: Cursor): void {
    const gen = this.manifest.gen + 1;
    const written: string[] = [];
    const pages: Record<string, string[]> = { ...this.manifest.pages };
    try {
      let n = 0;
      for (const [scope, state] of working) {
        // Drop emptied pages and renumber the index.
        state.pages = state.pages.filter((p) => p.entries.size > 0);
        state.where.clear();
        state.pages.forEach((page, index) => {
          for (const id of page.entries.keys()) state.where.set(id, index);
          if (page.key === null) {
            const key = `${this.prefix}page:${gen}:${n}`;
            n += 1;
            const text = JSON.stringify([...page.entries.values()]);
            this.kv.set(key, text);
            written.push(key);
            page.key = key;
            page.bytes = utf8Bytes(text);
          }
        });
        if (state.pages.length) pages[scope] = state.pages.map((p) => p.key as string);
        else delete pages[scope];
      }
      const manifest: Manifest = { gen, cursor, pages };
      this.write("manifest", manifest);
      const before = new Set(Object.values(this.manifest.pages).flat());
      const after = new Set(Object.values(pages).flat());
      this.manifest = manifest;
      for (const [scope, state] of working) {
        if (state.pages.length) this.scopes.set(scope, state);
        else this.scopes.delete(scope);
      }
      for (const key of before) if (!after.has(key)) this.kv.remove(key);
    } catch (err) {
      for (const key of written) this.kv.remove(key);
      // The in-memory pages marked written belong to the working copy only: drop it.
      throw err;
    }
  }

  // -- the queue ---------------------------------------------------------------------

  /** Queue a mutation (one write: the mid is taken and the mutation stored together). */
  enqueue(name: string, args: unknown, businessKey: string | null): QueuedMutation {
    const mutation: QueuedMutation = { mid: this.queue.nextMid, name, args, businessKey };
    const next: QueueState = {
      ...this.queue,
      nextMid: this.queue.nextMid + 1,
      pending: [...this.queue.pending, mutation],
    };
    this.write("queue", next);
    this.queue = next;
    return mutation;
  }

  pending(): QueuedMutation[] {
    return [...this.queue.pending];
  }

  outcomes(): StoredOutcome[] {
    return [...this.queue.outcomes];
  }

  /** Store results and dequeue their mutations (one write). */
  recordOutcomes(outcomes: StoredOutcome[]): void {
    const done = new Set(outcomes.map((o) => o.mid));
    const next: QueueState = {
      ...this.queue,
      pending: this.queue.pending.filter((m) => !done.has(m.mid)),
      outcomes: [...this.queue.outcomes.filter((o) => !done.has(o.mid)), ...outcomes].slice(
        -this.keepOutcomes,
      ),
    };
    this.write("queue", next);
    this.queue = next;
  }

  /**
   * The server expects `expectedMid` next but our oldest pending mid is later (409 mid_gap:
   * the queue's state was lost, e.g. restored from an older backup). None of the pending
   * mutations reached the server, so number them again from `expectedMid`.
   */
  renumber(expectedMid: number): void {
    const pending = this.queue.pending.map((m, i) => ({ ...m, mid: expectedMid + i }));
    const next: QueueState = { ...this.queue, pending, nextMid: expectedMid + pending.length };
    this.write("queue", next);
    this.queue = next;
  }

  /**
   * The server refused our client id (403 `client_forbidden`: it belongs to another user, or
   * the token is bound to another): take a new one and number the pending mutations from 1.
   * Their business keys keep anything already applied from happening twice.
   */
  newClientId(id: string = randomId()): void {
    const pending = this.queue.pending.map((m, i) => ({ ...m, mid: i + 1 }));
    const next: QueueState = { clientId: id, nextMid: pending.length + 1, pending, outcomes: [] };
    this.write("queue", next);
    this.queue = next;
  }

  /** For tests and recovery tools: the raw queue state. */
  queueState(): Readonly<QueueState> {
    return this.queue;
  }
}
