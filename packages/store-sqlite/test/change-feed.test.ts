import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAuthenticator, createKeyManager } from '@orkesta/auth';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHANGE_RETENTION_MS, SqliteKeyStore, type SqliteKeyStoreOptions } from '../src/index.js';
import { assertBuilt, CHILD_SCRIPT, useTempDirs } from './helpers.js';

const run = promisify(execFile);

const tempDir = useTempDirs();

/** Opens handles on one file and closes them after the test body. */
async function withHandles(
  run: (
    open: (options?: Partial<SqliteKeyStoreOptions>) => SqliteKeyStore,
    filename: string,
  ) => Promise<void>,
): Promise<void> {
  const filename = join(tempDir(), 'keys.db');
  const handles: SqliteKeyStore[] = [];
  const open = (options: Partial<SqliteKeyStoreOptions> = {}) => {
    const store = new SqliteKeyStore({ filename, pollIntervalMs: 20, ...options });
    handles.push(store);
    return store;
  };
  try {
    await run(open, filename);
  } finally {
    for (const store of handles) await store.close();
  }
}

/** Collects what a feed delivers; `next(n)` resolves once n deliveries have arrived in all. */
function recorder(store: SqliteKeyStore) {
  const heard: (readonly string[])[] = [];
  const resets: number[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (heard.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const unsubscribe = store.changes.subscribe(
    (ids) => {
      heard.push(ids);
      settle();
    },
    () => resets.push(heard.length),
  );
  return {
    heard,
    resets,
    unsubscribe,
    next: (count: number) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        settle();
      }),
  };
}

function raw(filename: string): Database.Database {
  return new Database(filename);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('change feed', () => {
  it("publish tells this handle's listeners synchronously, and records the change once", async () => {
    await withHandles(async (open, filename) => {
      const store = open();
      const mine = recorder(store);
      const publishing = store.changes.publish(['aaaaaaaaaaaa', 'bbbbbbbbbbbb']);
      expect(mine.heard).toEqual([['aaaaaaaaaaaa', 'bbbbbbbbbbbb']]);
      await publishing;
      await store.changes.publish([]); // nothing to tell: no row
      const db = raw(filename);
      expect(db.prepare('SELECT key_ids FROM key_changes').pluck().all()).toEqual([
        '["aaaaaaaaaaaa","bbbbbbbbbbbb"]',
      ]);
      db.close();
    });
  });

  it('another handle hears each publish once, in order; a handle never hears its own twice', async () => {
    await withHandles(async (open) => {
      const a = open();
      const b = open();
      const heardByA = recorder(a);
      const heardByB = recorder(b);
      await a.changes.publish(['from_a_1']);
      await b.changes.publish(['from_b_1']);
      await a.changes.publish(['from_a_2']);
      await Promise.all([heardByA.next(3), heardByB.next(3)]);
      // A's own changes arrive at once; B's by polling, after them.
      expect(heardByA.heard).toEqual([['from_a_1'], ['from_a_2'], ['from_b_1']]);
      expect(heardByB.heard).toEqual([['from_b_1'], ['from_a_1'], ['from_a_2']]);
      // One more round trip: had either re-delivered its own rows, they would come before this.
      await b.changes.publish(['from_b_2']);
      await heardByA.next(4);
      expect(heardByA.heard.at(-1)).toEqual(['from_b_2']);
      expect(heardByA.heard).toHaveLength(4);
      expect(heardByA.resets).toEqual([]);
      expect(heardByB.resets).toEqual([]);
    });
  });

  it('a listener subscribed after a change does not hear it', async () => {
    await withHandles(async (open) => {
      const a = open();
      const b = open();
      await a.changes.publish(['before']);
      const late = recorder(b);
      await a.changes.publish(['after']);
      await late.next(1);
      expect(late.heard).toEqual([['after']]);
    });
  });

  it('calls onReset when rows it had not read were pruned, then goes on with the rest', async () => {
    await withHandles(async (open, filename) => {
      const a = open();
      const b = open();
      const listener = recorder(b);
      const db = raw(filename);
      // In one synchronous stretch, so B cannot poll in between: two changes, the first pruned.
      void a.changes.publish(['pruned']);
      void a.changes.publish(['kept']);
      db.prepare('DELETE FROM key_changes WHERE key_ids = \'["pruned"]\'').run();
      db.close();
      await listener.next(1);
      expect(listener.heard).toEqual([['kept']]);
      expect(listener.resets).toEqual([0]); // before the delivery
    });
  });

  it('calls onReset when every row it had not read was pruned', async () => {
    await withHandles(async (open, filename) => {
      const a = open();
      const b = open();
      const listener = recorder(b);
      const reset = new Promise<void>((resolve) => b.changes.subscribe(() => {}, resolve));
      const db = raw(filename);
      void a.changes.publish(['pruned']);
      db.prepare('DELETE FROM key_changes').run();
      db.close();
      await reset;
      expect(listener.heard).toEqual([]);
      expect(listener.resets).toEqual([0]);
    });
  });

  it(`prunes changes older than ${CHANGE_RETENTION_MS / 3_600_000} hour when publishing`, async () => {
    await withHandles(async (open, filename) => {
      expect(CHANGE_RETENTION_MS).toBe(3_600_000);
      const store = open();
      await store.changes.publish(['first']);
      const db = raw(filename);
      const now = Date.now();
      db.prepare('UPDATE key_changes SET created_at = ? WHERE key_ids = \'["first"]\'').run(
        now - CHANGE_RETENTION_MS - 1,
      );
      db.prepare(
        "INSERT INTO key_changes (key_ids, origin, created_at) VALUES ('[\"recent\"]', 'x', ?)",
      ).run(now - CHANGE_RETENTION_MS + 60_000);
      await open().changes.publish(['latest']); // a new handle prunes on its first publish
      expect(db.prepare('SELECT key_ids FROM key_changes ORDER BY seq').pluck().all()).toEqual([
        '["recent"]',
        '["latest"]',
      ]);
      db.close();
    });
  });

  it('a throwing listener goes to onFeedError and does not stop the others', async () => {
    const errors: unknown[] = [];
    await withHandles(async (open) => {
      const a = open({ onFeedError: (error) => errors.push(error) });
      const b = open({ onFeedError: (error) => errors.push(error) });
      const boom = new Error('listener failed');
      for (const store of [a, b]) {
        store.changes.subscribe(() => {
          throw boom;
        });
      }
      const heardByA = recorder(a);
      const heardByB = recorder(b);
      await a.changes.publish(['one']);
      await heardByB.next(1);
      expect(heardByA.heard).toEqual([['one']]);
      expect(heardByB.heard).toEqual([['one']]);
      expect(errors).toEqual([boom, boom]);
    });
  });

  it('a throwing listener without onFeedError is a process warning, and the others still hear', async () => {
    const warned = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    await withHandles(async (open) => {
      const a = open();
      const b = open();
      const boom = new Error('listener failed');
      a.changes.subscribe(() => {
        throw boom;
      });
      const heardByA = recorder(a);
      const heardByB = recorder(b);
      await a.changes.publish(['one']);
      await heardByB.next(1);
      expect(heardByA.heard).toEqual([['one']]);
      expect(heardByB.heard).toEqual([['one']]);
      expect(warned).toHaveBeenCalledWith(boom, 'OrkestaAuthWarning');
    });
  });

  it('publish after close rejects with ERR_ORKESTA_AUTH_STORE_CLOSED, and no handle hears it', async () => {
    await withHandles(async (open) => {
      const closing = open();
      const listener = open();
      const marker = open();
      const heard = recorder(listener);
      await closing.close();
      // A rejection, not a throw: callers that do not await it still see a rejected promise.
      await expect(Promise.resolve(closing.changes.publish(['after_close']))).rejects.toMatchObject(
        { code: 'ERR_ORKESTA_AUTH_STORE_CLOSED' },
      );
      // Rows are read in order: had the closed handle recorded its change, it would come first.
      await marker.changes.publish(['marker']);
      await heard.next(1);
      expect(heard.heard).toEqual([['marker']]);
      expect(() => closing.changes.subscribe(() => {})).toThrow(
        expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_STORE_CLOSED' }),
      );
    });
  });

  it('a failed poll goes to onFeedError', async () => {
    await withHandles(async (open, filename) => {
      const failed = new Promise<unknown>((resolve) => {
        const store = open({ onFeedError: resolve });
        store.changes.subscribe(() => {});
      });
      const db = raw(filename);
      db.exec('DROP TABLE key_changes'); // a commit by another connection: the poll looks, and fails
      db.close();
      expect(((await failed) as { code?: string }).code).toBe('SQLITE_ERROR');
    });
  });

  it('after unsubscribing or closing, a handle hears nothing and polls no more', async () => {
    const errors: unknown[] = [];
    await withHandles(async (open) => {
      const publisher = open();
      const closing = open({ pollIntervalMs: 1, onFeedError: (error) => errors.push(error) });
      const leaving = open({ pollIntervalMs: 1, onFeedError: (error) => errors.push(error) });
      const slow = open({ pollIntervalMs: 100 });
      const closed = recorder(closing);
      const gone = recorder(leaving);
      const witness = recorder(slow);
      await closing.close();
      gone.unsubscribe();
      await publisher.changes.publish(['after']);
      // By the time the slow handle hears it, the 1 ms handles would have polled many times:
      // a poll on the closed one would have failed into onFeedError.
      await witness.next(1);
      expect(closed.heard).toEqual([]);
      expect(gone.heard).toEqual([]);
      expect(errors).toEqual([]);
      gone.unsubscribe(); // twice is fine
    });
  });

  it('an authenticator forgets its cache after a gap, and looks keys up again', async () => {
    await withHandles(async (open, filename) => {
      const a = open();
      const b = open();
      const issued = await createKeyManager({ store: a }).create({
        workspaceId: 'ws_1',
        name: 'erp',
        scope: 'admin',
      });
      const auth = createAuthenticator({ store: b, lastUsed: false });
      const request = { authorization: `Bearer ${issued.key}`, secure: true };
      expect((await auth.authenticate(request)).ok).toBe(true); // cached now
      const reset = new Promise<void>((resolve) => b.changes.subscribe(() => {}, resolve));
      const db = raw(filename);
      // Revoked behind the feed's back, and the change that said so pruned before B read it.
      db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(
        Date.now(),
        issued.record.id,
      );
      void a.changes.publish([issued.record.id]);
      db.prepare('DELETE FROM key_changes').run();
      db.close();
      await reset;
      const result = await auth.authenticate(request);
      expect(result.ok || result.error.code).toBe('api_key_revoked');
      await auth.close();
    });
  });

  it('polls only while something listens, and never for :memory:', async () => {
    const started = vi.spyOn(globalThis, 'setInterval');
    const stopped = vi.spyOn(globalThis, 'clearInterval');
    await withHandles(async (open) => {
      const store = open();
      expect(started).not.toHaveBeenCalled();
      const first = store.changes.subscribe(() => {});
      const second = store.changes.subscribe(() => {});
      expect(started).toHaveBeenCalledTimes(1);
      const timer = started.mock.results[0]?.value;
      first();
      expect(stopped).not.toHaveBeenCalledWith(timer);
      second();
      expect(stopped).toHaveBeenCalledWith(timer);
      store.changes.subscribe(() => {});
      expect(started).toHaveBeenCalledTimes(2);
      const again = started.mock.results[1]?.value;
      await store.close();
      expect(stopped).toHaveBeenCalledWith(again);
      const memory = new SqliteKeyStore({ filename: ':memory:' });
      memory.changes.subscribe(() => {});
      expect(started).toHaveBeenCalledTimes(2);
      await memory.close();
    });
  });

  it('reads key_changes only when another connection has written to the file', async () => {
    await withHandles(async (open) => {
      const probe = raw(':memory:');
      const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Database.Statement;
      probe.close();
      // Every statement of every connection goes through these two methods: count what matters.
      let changeReads = 0;
      let versionChecks = 0;
      let enough: () => void = () => {};
      const checked = new Promise<void>((resolve) => {
        enough = resolve;
      });
      const { all, get } = statement;
      vi.spyOn(statement, 'all').mockImplementation(function (this: Database.Statement, ...args) {
        if (this.source.includes('FROM key_changes')) changeReads++;
        return all.apply(this, args);
      });
      vi.spyOn(statement, 'get').mockImplementation(function (this: Database.Statement, ...args) {
        if (this.source === 'PRAGMA data_version' && ++versionChecks === 20) enough();
        return get.apply(this, args);
      });
      const listener = open({ pollIntervalMs: 1 });
      const heard = recorder(listener);
      await checked; // twenty idle ticks
      expect(changeReads).toBe(0);
      await open().changes.publish(['news']);
      await heard.next(1);
      expect(changeReads).toBe(1);
    });
  });

  it('a handle on :memory: tells its own listeners', async () => {
    const store = new SqliteKeyStore({ filename: ':memory:' });
    const listener = recorder(store);
    await store.changes.publish(['only']);
    expect(listener.heard).toEqual([['only']]);
    await store.close();
  });

  it('the poll timer does not keep a process alive', async () => {
    assertBuilt();
    const filename = join(tempDir(), 'keys.db');
    const { stdout } = await run(process.execPath, [CHILD_SCRIPT, 'idle', filename], {
      timeout: 10_000,
    });
    expect(stdout).toBe('subscribed');
  });
});
