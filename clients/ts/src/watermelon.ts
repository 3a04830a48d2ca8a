/**
 * WatermelonDB glue: `pullChanges` and `pushChanges` for WatermelonDB's own `synchronize()`,
 * so an app that keeps its data in WatermelonDB syncs it with the protocol (entry point
 * `@channelhub/sdk/watermelon`; `@nozbe/watermelondb` is the app's).
 *
 * Invariants:
 * - **One number for a per-scope cursor.** WatermelonDB keeps one number (`lastPulledAt`); ours
 *   is `{scope: version}`. Each pull stores the cursor it reached in the glue's storage under
 *   a new number (1, 2, 3 ...) before handing that number to WatermelonDB, and the next pull
 *   reads the cursor stored under the number WatermelonDB sends back. If the app dies before
 *   WatermelonDB stored the new number, it sends the old one and pulls the same changes again:
 *   they are full values per key, so applying them twice changes nothing. A number the glue
 *   no longer knows (it keeps the last few) pulls everything again, as a first sync does.
 * - **Resets and dropped scopes** delete the synced local records of that scope (column
 *   `scope`) that the snapshot does not bring back; records created locally and not yet
 *   pushed are left alone.
 * - **Exactly-once pushes.** Local changes become mutations in the SDK's durable queue (mids,
 *   business keys), then `SyncClient.push` sends them. A change is queued once: while a
 *   mutation with its business key waits in the queue, WatermelonDB's retry of the same
 *   change queues nothing new, and the same mids go again (the server replays its results).
 *   If the push fails, `pushChanges` throws and WatermelonDB keeps the records unsynced.
 *
 * Records: one WatermelonDB table per entity (`tables`). A record's id is the entry's key for
 * entities whose keys are ids the client may create (orders, claims: UUIDs), else
 * `scope|key`. Its columns are filled from the entry: `scope`, `key`, `data` (the whole value
 * as JSON) when the table has them, and every other column from the data field of the same
 * name in camelCase (`unit_price` from `unitPrice`; objects and arrays as JSON text).
 */

import { Q, type Database } from "@nozbe/watermelondb";
import type {
  SyncDatabaseChangeSet,
  SyncPullArgs,
  SyncPullResult,
  SyncPushArgs,
  SyncTableChangeSet,
} from "@nozbe/watermelondb/sync/index.js";
import type { DirtyRaw } from "@nozbe/watermelondb/RawRecord/index.js";
import type { KeyValueStorage } from "./storage/kv.js";
import { cursorAheadScope, type MutationArgs, type MutationName, type PullResult, type SyncClient } from "./sync.js";

type Cursor = Record<string, number>;
/** `SyncDatabaseChangeSet` (its index signature is lost in WatermelonDB's typings). */
type ChangeSet = Record<string, SyncTableChangeSet>;

/** A mutation to queue for a local change. */
export interface LocalMutation<N extends MutationName = MutationName> {
  name: N;
  args: MutationArgs<N>;
  /** The change's identity: the same change always gives the same key (≤ 200 characters). */
  businessKey: string;
}

export type LocalChangeKind = "created" | "updated" | "deleted";

export interface WatermelonGlueOptions {
  database: Database;
  /** The engine whose queue carries the pushes (give it the same storage). */
  sync: SyncClient;
  /** Where the glue keeps its numbered cursors. */
  storage: KeyValueStorage;
  /** WatermelonDB table per entity (`{price: "prices", order: "orders"}`); other entities are skipped. */
  tables: Record<string, string>;
  /** Entities whose keys are ids the client may create (default: order, claim). */
  ownIds?: string[];
  /** The mutations for a local change (default: none: the table is read-only). */
  toMutations?: (table: string, kind: LocalChangeKind, raw: DirtyRaw) => LocalMutation[];
  /** How many numbered cursors to keep (default 8). */
  keepCursors?: number;
  prefix?: string;
}

interface CursorBook {
  next: number;
  cursors: Record<string, Cursor>;
}

interface Collected {
  /** Per scope: record (`table\0id`) -> its raw value, or null for a delete. */
  entries: Map<string, Map<string, DirtyRaw | null>>;
  /** Scopes reset or dropped during this pull. */
  cleared: Set<string>;
  cursor: Cursor;
}

const camel = (column: string) => column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export class WatermelonGlue {
  private readonly options: WatermelonGlueOptions;
  private readonly ownIds: Set<string>;
  private readonly bookKey: string;

  constructor(options: WatermelonGlueOptions) {
    this.options = options;
    this.ownIds = new Set(options.ownIds ?? ["order", "claim"]);
    this.bookKey = `${options.prefix ?? "channelhub:"}watermelon:cursors`;
    this.pullChanges = this.pullChanges.bind(this);
    this.pushChanges = this.pushChanges.bind(this);
  }

  /** The local record id of a server entry. */
  recordId(entity: string, scope: string, key: string): string {
    return this.ownIds.has(entity) ? key : `${scope}|${key}`;
  }

  private book(): CursorBook {
    const text = this.options.storage.get(this.bookKey);
    return text === null ? { next: 1, cursors: {} } : (JSON.parse(text) as CursorBook);
  }

  /** The cursor stored under WatermelonDB's number (`{}` for none or one no longer kept). */
  cursorFor(lastPulledAt: number | null | undefined): Cursor {
    if (lastPulledAt === null || lastPulledAt === undefined) return {};
    return { ...(this.book().cursors[String(lastPulledAt)] ?? {}) };
  }

  /** Store `cursor` under a new number (one write) and return the number. */
  private remember(cursor: Cursor): number {
    const book = this.book();
    const number = book.next;
    const kept = Object.keys(book.cursors)
      .map(Number)
      .sort((a, b) => b - a)
      .slice(0, (this.options.keepCursors ?? 8) - 1);
    const cursors: Record<string, Cursor> = { [String(number)]: cursor };
    for (const n of kept) cursors[String(n)] = book.cursors[String(n)] as Cursor;
    this.options.storage.set(this.bookKey, JSON.stringify({ next: number + 1, cursors }));
    return number;
  }

  /** Raw record columns for one entry, from the table's schema. */
  toRaw(table: string, id: string, scope: string, key: string, data: unknown): DirtyRaw {
    const raw: DirtyRaw = { id };
    const fields = (data ?? {}) as Record<string, unknown>;
    for (const column of this.options.database.schema.tables[table]?.columnArray ?? []) {
      let value: unknown;
      if (column.name === "scope") value = scope;
      else if (column.name === "key") value = key;
      else if (column.name === "data") value = JSON.stringify(data);
      else value = fields[camel(column.name)];
      if (value !== null && typeof value === "object") value = JSON.stringify(value);
      raw[column.name] = value ?? null;
    }
    return raw;
  }

  /** WatermelonDB's `pullChanges`: every page to the head, as one change set. */
  async pullChanges({ lastPulledAt }: SyncPullArgs): Promise<SyncPullResult> {
    const collected: Collected = { entries: new Map(), cleared: new Set(), cursor: this.cursorFor(lastPulledAt) };
    const forgotten = new Set<string>();
    for (;;) {
      let page: PullResult;
      try {
        page = await this.options.sync.pullPage(collected.cursor);
      } catch (err) {
        const scope = cursorAheadScope(err);
        if (scope === null || forgotten.has(scope)) throw err;
        forgotten.add(scope); // the server restored a backup: that scope starts afresh
        delete collected.cursor[scope];
        continue;
      }
      this.collect(collected, page);
      if (!page.hasMore) break;
    }
    const changes = await this.changeSet(collected);
    return { changes: changes as SyncDatabaseChangeSet, timestamp: this.remember(collected.cursor) };
  }

  private collect(collected: Collected, page: PullResult): void {
    for (const scope of [...page.resets, ...page.dropped]) {
      collected.cleared.add(scope);
      collected.entries.set(scope, new Map());
    }
    for (const scope of page.dropped) delete collected.cursor[scope];
    for (const change of page.changes) {
      const table = this.options.tables[change.entity];
      if (table === undefined) continue;
      const id = this.recordId(change.entity, change.scope, change.key);
      let entries = collected.entries.get(change.scope);
      if (!entries) collected.entries.set(change.scope, (entries = new Map()));
      entries.set(`${table}\u0000${id}`, change.op === "delete" ? null : this.toRaw(table, id, change.scope, change.key, change.data));
    }
    Object.assign(collected.cursor, page.cursor);
  }

  private async changeSet(collected: Collected): Promise<ChangeSet> {
    const tables = [...new Set(Object.values(this.options.tables))];
    const changes: ChangeSet = {};
    for (const table of tables) changes[table] = { created: [], updated: [], deleted: [] };
    const upserted = new Set<string>();
    for (const entries of collected.entries.values()) {
      for (const [where, raw] of entries) {
        const [table, id] = where.split("\u0000") as [string, string];
        const set = changes[table] as SyncTableChangeSet;
        if (raw === null) set.deleted.push(id);
        else {
          set.updated.push(raw); // created or updated: synchronize({sendCreatedAsUpdated: true})
          upserted.add(where);
        }
      }
    }
    // A reset or dropped scope: its synced records the snapshot did not bring back are gone.
    for (const scope of collected.cleared) {
      for (const table of tables) {
        if (!this.options.database.schema.tables[table]?.columns.scope) continue;
        const ids = await this.options.database
          .get(table)
          .query(Q.where("scope", scope), Q.where("_status", "synced"))
          .fetchIds();
        for (const id of ids) {
          if (!upserted.has(`${table}\u0000${id}`)) (changes[table] as SyncTableChangeSet).deleted.push(id);
        }
      }
    }
    return changes;
  }

  /** WatermelonDB's `pushChanges`: queue each local change once, then push the queue. */
  async pushChanges({ changes }: SyncPushArgs): Promise<void> {
    const sync = this.options.sync;
    const toMutations = this.options.toMutations ?? (() => []);
    const queued = new Set(sync.store.pending().map((m) => m.businessKey));
    for (const [table, set] of Object.entries(changes as ChangeSet)) {
      const local: Array<[LocalChangeKind, DirtyRaw]> = [
        ...set.created.map((raw): [LocalChangeKind, DirtyRaw] => ["created", raw]),
        ...set.updated.map((raw): [LocalChangeKind, DirtyRaw] => ["updated", raw]),
        ...set.deleted.map((id): [LocalChangeKind, DirtyRaw] => ["deleted", { id }]),
      ];
      for (const [kind, raw] of local) {
        for (const m of toMutations(table, kind, raw)) {
          if (queued.has(m.businessKey)) continue;
          sync.enqueue(m.name, m.args, m.businessKey);
          queued.add(m.businessKey);
        }
      }
    }
    await sync.push();
  }
}

/** `pullChanges` and `pushChanges` for `synchronize({database, ...glue, sendCreatedAsUpdated: true})`. */
export function watermelonSync(options: WatermelonGlueOptions): WatermelonGlue {
  return new WatermelonGlue(options);
}
