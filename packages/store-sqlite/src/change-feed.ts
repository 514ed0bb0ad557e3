import { randomUUID } from 'node:crypto';
import { FeedSubscribers, type KeyChangeFeed } from '@orkesta/auth/store';
import type Database from 'better-sqlite3';
import { CHANGE_RETENTION_MS, PRUNE_EVERY_MS } from './constants.js';

interface ChangeRow {
  readonly seq: number;
  readonly key_ids: string;
  readonly origin: string;
}

export interface ChangeFeedContext {
  readonly db: Database.Database;
  readonly pollIntervalMs: number;
  /**
   * The store's `onFeedError`: told of failed polls (ignored without it) and of listeners that
   * threw (a process warning without it, never silent).
   */
  readonly onError: ((error: unknown) => void) | undefined;
  /** Throws the store's `StoreClosedError` once the store is closed. */
  readonly assertOpen: () => void;
}

function parseIds(json: string): string[] | undefined {
  try {
    const ids: unknown = JSON.parse(json);
    return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? ids : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The change feed of one SqliteKeyStore handle. `publish` tells this handle's listeners at once
 * and appends a row to `key_changes`; while it has listeners, the handle polls the file for rows
 * other handles (other processes) appended, checking `PRAGMA data_version` first so that an idle
 * tick costs no query.
 */
export class SqliteChangeFeed implements KeyChangeFeed {
  readonly #context: ChangeFeedContext;
  /** Names the rows this handle wrote, so that polling skips them. */
  readonly #origin = randomUUID();
  readonly #subscribers: FeedSubscribers;
  readonly #append: Database.Statement<[string, string, number]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #dataVersion: Database.Statement<[], number>;
  readonly #highWater: Database.Statement<[], number>;
  readonly #since: Database.Statement<[number], ChangeRow>;
  readonly #read: Database.Transaction<(after: number) => { rows: ChangeRow[]; high: number }>;
  #timer: NodeJS.Timeout | undefined;
  #lastSeq = 0;
  #lastDataVersion = 0;
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(context: ChangeFeedContext) {
    this.#context = context;
    this.#subscribers = new FeedSubscribers(context.onError);
    const { db } = context;
    this.#append = db.prepare(
      'INSERT INTO key_changes (key_ids, origin, created_at) VALUES (?, ?, ?)',
    );
    this.#prune = db.prepare('DELETE FROM key_changes WHERE created_at < ?');
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#highWater = db
      .prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'key_changes'")
      .pluck();
    this.#since = db.prepare<[number], ChangeRow>(
      'SELECT seq, key_ids, origin FROM key_changes WHERE seq > ? ORDER BY seq',
    );
    // One read transaction, so the rows and the high-water mark are of the same snapshot.
    this.#read = db.transaction((after: number) => ({
      rows: this.#since.all(after),
      high: this.#highWater.get() ?? 0,
    }));
  }

  /**
   * Tells this handle's listeners synchronously, then records the change for other handles. A
   * listener that throws is reported and changes nothing of that. Rejects if the change could
   * not be recorded: the store is closed (`StoreClosedError`), or stays locked.
   */
  async publish(keyIds: readonly string[]): Promise<void> {
    this.#context.assertOpen();
    const ids = Object.freeze([...keyIds]);
    if (ids.length === 0) return;
    this.#subscribers.deliver(ids);
    const now = Date.now();
    this.#append.run(JSON.stringify(ids), this.#origin, now);
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      this.#prune.run(now - CHANGE_RETENTION_MS);
    }
  }

  subscribe(listener: (keyIds: readonly string[]) => void, onReset?: () => void): () => void {
    this.#context.assertOpen();
    const first = this.#subscribers.size === 0;
    const remove = this.#subscribers.add(listener, onReset);
    if (first) this.#start();
    return () => {
      remove();
      if (this.#subscribers.size === 0) this.#stop();
    };
  }

  /** Stops polling and forgets the listeners; the store calls this when it closes. */
  close(): void {
    this.#stop();
    this.#subscribers.clear();
  }

  #start(): void {
    const { db, pollIntervalMs } = this.#context;
    if (db.memory) return; // nobody else can write to this database
    // Listen from here on: what was published before subscribing is not news.
    this.#lastDataVersion = this.#dataVersion.get() ?? 0;
    this.#lastSeq = this.#highWater.get() ?? 0;
    this.#timer = setInterval(() => this.#poll(), pollIntervalMs);
    this.#timer.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    let rows: ChangeRow[];
    let high: number;
    try {
      // data_version changes only when another connection commits to the file.
      const version = this.#dataVersion.get() ?? 0;
      if (version === this.#lastDataVersion) return;
      ({ rows, high } = this.#read(this.#lastSeq));
      this.#lastDataVersion = version;
    } catch (error) {
      // Nothing is lost: the next tick reads from the same place.
      this.#reportPollFailure(error);
      return;
    }
    let expected = this.#lastSeq + 1;
    let missed = false;
    const batches: (readonly string[])[] = [];
    for (const row of rows) {
      if (row.seq !== expected) missed = true; // rows pruned before this handle read them
      expected = row.seq + 1;
      if (row.origin === this.#origin) continue;
      const ids = parseIds(row.key_ids);
      if (ids === undefined) missed = true;
      else batches.push(Object.freeze(ids));
    }
    if (high >= expected) missed = true;
    this.#lastSeq = Math.max(expected - 1, high);
    if (missed) this.#subscribers.reset();
    for (const ids of batches) this.#subscribers.deliver(ids);
  }

  /** A failed poll goes to `onFeedError` if there is one; by default it is retried unsaid. */
  #reportPollFailure(error: unknown): void {
    try {
      this.#context.onError?.(error);
    } catch {
      // A throwing error hook has nowhere left to report to.
    }
  }
}
