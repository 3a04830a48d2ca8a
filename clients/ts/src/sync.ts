/**
 * The sync engine: sync/PROTOCOL.md (version 1) on a `LocalStore`.
 *
 * - `enqueue` works offline: the mutation gets the next mid and is stored in one write.
 * - `push` sends the queue oldest first (batches of at most 200), stores each result and
 *   dequeues only mutations whose result arrived; a lost answer means the same mids are sent
 *   again (the server replays its stored results). 409 `mid_gap` renumbers the queue from
 *   `expectedMid` and pushes again; 403 `client_forbidden` takes a new client id (business
 *   keys keep the replays exact) and pushes again.
 * - `pull` pages to the head; each page (resets, dropped scopes, changes, cursor) is applied in
 *   one local transaction. 409 `cursor_ahead` forgets that scope and pulls it afresh.
 * - 426 `upgrade_required` (or `upgradeRequired` in a push answer) emits `upgradeRequired`;
 *   pushes go on. 503 and 401 are retried by `HttpClient`. An answer that cannot be read
 *   (cut short) changes nothing locally and rejects with `TransportError`.
 */

import type { components, paths } from "../../../openapi/channelhub.js";
import { Emitter } from "./events.js";
import type { HttpClient } from "./http.js";
import { outcomeMessage } from "./messages.js";
import { ApiError, TransportError, isRecord, type Message } from "./problem.js";
import { LocalStore, type LocalStoreOptions, type StoredOutcome } from "./storage/store.js";
import type { KeyValueStorage } from "./storage/kv.js";

export const PROTOCOL_VERSION = 1;
export const MAX_PUSH_BATCH = 200;

type PushBody = paths["/sync/push"]["post"]["requestBody"]["content"]["application/json"];
/** Every mutation the server knows, told apart by `name`. */
export type MutationIn = PushBody["mutations"][number];
export type MutationName = MutationIn["name"];
export type MutationArgs<N extends MutationName> = Extract<MutationIn, { name: N }>["args"];
export type PullResult = components["schemas"]["PullResult"];
export type PushResult = components["schemas"]["PushResult"];
export type Change = components["schemas"]["Change"];

/** A mutation's result as the app sees it (with a message for amended and rejected). */
export interface Outcome extends StoredOutcome {
  message: Message | null;
}

export interface SyncEvents {
  /** One per mutation result: applied, amended (confirm it), rejected (show `message`). */
  outcome: Outcome;
  /** A pull page was applied: the scopes it touched and how many changes. */
  change: { scopes: string[]; changes: number; resets: string[]; dropped: string[] };
  /** The server no longer speaks our protocol version: prompt to update the app. */
  upgradeRequired: { supported: number[] };
  /** Sign-in needed (the refresh token was refused). */
  authRequired: ApiError;
  /** A sync in the background failed (it is retried on the next trigger). */
  error: unknown;
}

export interface SyncClientOptions extends LocalStoreOptions {
  http: HttpClient;
  storage: KeyValueStorage;
  /** Changes per pull page (the server caps it). */
  pageSize?: number;
  /** Mutations per push (at most 200). */
  batch?: number;
}

// C0 (NUL included), DEL, C1 and lone surrogates: the protocol's strings hold none of them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(field: string, value: string, max: number): void {
  if (value.length < 1 || value.length > max || CONTROL.test(value)) {
    throw new TypeError(`${field} must be 1-${max} characters without control characters`);
  }
}

function checkPullAnswer(answer: unknown): PullResult {
  if (
    !isRecord(answer) ||
    !Array.isArray(answer.changes) ||
    !isRecord(answer.cursor) ||
    typeof answer.hasMore !== "boolean" ||
    !Array.isArray(answer.resets) ||
    !Array.isArray(answer.dropped)
  ) {
    throw new TransportError("truncated_body", "pull answer is incomplete");
  }
  return answer as unknown as PullResult;
}

function checkPushAnswer(answer: unknown, sent: number): PushResult {
  if (!isRecord(answer) || !Array.isArray(answer.results) || answer.results.length !== sent) {
    throw new TransportError("truncated_body", "push answer is incomplete");
  }
  return answer as unknown as PushResult;
}

/** The scope of a 409 `cursor_ahead` (the server is behind our cursor for it), else null. */
export function cursorAheadScope(err: unknown): string | null {
  const scope = err instanceof ApiError && err.code === "cursor_ahead" ? err.problem.scope : undefined;
  return typeof scope === "string" ? scope : null;
}

export class SyncClient extends Emitter<SyncEvents> {
  readonly http: HttpClient;
  readonly store: LocalStore;
  readonly pageSize: number;
  readonly batch: number;
  upgradeRequired = false;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(options: SyncClientOptions) {
    super();
    this.http = options.http;
    this.store = new LocalStore(options.storage, options);
    this.pageSize = options.pageSize ?? 500;
    this.batch = Math.min(options.batch ?? 100, MAX_PUSH_BATCH);
  }

  get clientId(): string {
    return this.store.clientId;
  }

  /** Queue a mutation (works offline); returns its mid. Use the new thing's id as business key. */
  enqueue<N extends MutationName>(name: N, args: MutationArgs<N>, businessKey?: string): number {
    // What the server would refuse for the whole batch (422) is refused here, before it can
    // block the queue: names 1-100 and business keys 1-200 characters, no control characters.
    checkText("name", name, 100);
    if (businessKey !== undefined) checkText("businessKey", businessKey, 200);
    return this.store.enqueue(name, args, businessKey ?? null).mid;
  }

  private headers() {
    return { "X-Sync-Protocol": String(PROTOCOL_VERSION) };
  }

  private async post(path: "/sync/push" | "/sync/pull" | "/sync/ack", body: unknown) {
    try {
      return await this.http.call("POST", path, { body, headers: this.headers() });
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === "upgrade_required") this.markUpgrade(err.problem.supported ?? []);
        if (err.status === 401) this.emit("authRequired", err);
      }
      throw err;
    }
  }

  /** Note that the server wants a newer protocol (also from the realtime channel). */
  markUpgrade(supported: number[]): void {
    this.upgradeRequired = true;
    this.emit("upgradeRequired", { supported });
  }

  /** Send the queue in mid order; returns how many results were stored. */
  async push(): Promise<number> {
    let done = 0;
    let renumbered = false;
    for (;;) {
      const batch = this.store.pending().slice(0, this.batch);
      if (batch.length === 0) return done;
      let answer: PushResult;
      try {
        answer = checkPushAnswer(
          await this.post("/sync/push", {
            clientId: this.clientId,
            protocol: PROTOCOL_VERSION,
            mutations: batch.map((m) => ({
              mid: m.mid,
              name: m.name,
              args: m.args,
              businessKey: m.businessKey,
            })),
          }),
          batch.length,
        );
      } catch (err) {
        const expected = err instanceof ApiError ? err.problem.expectedMid : undefined;
        if (err instanceof ApiError && err.code === "mid_gap" && typeof expected === "number" && !renumbered) {
          renumbered = true;
          this.store.renumber(expected);
          continue;
        }
        if (err instanceof ApiError && err.code === "client_forbidden" && !renumbered) {
          renumbered = true;
          this.store.newClientId();
          continue;
        }
        throw err;
      }
      if (answer.upgradeRequired) this.markUpgrade([]);
      const byMid = new Map(batch.map((m) => [m.mid, m]));
      const outcomes: Outcome[] = [];
      for (const r of answer.results) {
        const sent = byMid.get(r.mid);
        if (!sent) throw new TransportError("truncated_body", `push answer names unknown mid ${r.mid}`);
        const stored: StoredOutcome = {
          mid: r.mid,
          name: sent.name,
          businessKey: sent.businessKey,
          status: r.status,
          reason: r.reason ?? null,
          detail: r.detail ?? null,
          replayed: r.replayed ?? false,
        };
        outcomes.push({ ...stored, message: outcomeMessage(r.status, stored.reason, stored.detail) });
      }
      this.store.recordOutcomes(outcomes.map(({ message: _m, ...o }) => o));
      for (const outcome of outcomes) this.emit("outcome", outcome);
      done += outcomes.length;
    }
  }

  /**
   * One pull page after `cursor`, checked but not applied (for replicas kept elsewhere, such as
   * the WatermelonDB glue). Errors as `pull`; 409 `cursor_ahead` is the caller's to handle.
   */
  async pullPage(cursor: Record<string, number>): Promise<PullResult> {
    return checkPullAnswer(
      await this.post("/sync/pull", { cursor, limit: this.pageSize, clientId: this.clientId, protocol: PROTOCOL_VERSION }),
    );
  }

  /** Pull to the head, a page per local transaction; returns the number of changes applied. */
  async pull(): Promise<number> {
    let applied = 0;
    const forgotten = new Set<string>();
    for (;;) {
      let answer: PullResult;
      try {
        answer = await this.pullPage(this.store.cursor());
      } catch (err) {
        const scope = cursorAheadScope(err);
        if (scope !== null && !forgotten.has(scope)) {
          // The server lost history we had (restored backup): start that scope afresh.
          forgotten.add(scope);
          this.store.transaction((tx) => {
            tx.clearScope(scope);
            tx.dropCursor(scope);
          });
          continue;
        }
        throw err;
      }
      applied += this.apply(answer);
      if (!answer.hasMore) return applied;
    }
  }

  /** One pull answer, in one local transaction, in the protocol's order. */
  private apply(answer: PullResult): number {
    const touched = new Set<string>();
    this.store.transaction((tx) => {
      for (const scope of [...answer.resets, ...answer.dropped]) tx.clearScope(scope);
      for (const scope of answer.dropped) tx.dropCursor(scope);
      for (const c of answer.changes) {
        touched.add(c.scope);
        if (c.op === "delete") tx.delete(c.scope, c.entity, c.key);
        else tx.upsert(c.scope, c.entity, c.key, c.data);
      }
      for (const [scope, version] of Object.entries(answer.cursor)) tx.setCursor(scope, version);
    });
    if (answer.changes.length || answer.resets.length || answer.dropped.length) {
      this.emit("change", {
        scopes: [...touched],
        changes: answer.changes.length,
        resets: answer.resets,
        dropped: answer.dropped,
      });
    }
    return answer.changes.length;
  }

  /** Tell the server how far we are (optional: each pull acknowledges its cursor too). */
  async ack(): Promise<void> {
    await this.post("/sync/ack", {
      clientId: this.clientId,
      cursor: this.store.cursor(),
      protocol: PROTOCOL_VERSION,
    });
  }

  /**
   * Push the queue, then pull to the head (app start, reconnect, foreground, pokes).
   * Calls while one runs are folded into one more run after it.
   */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.push();
          await this.pull();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
