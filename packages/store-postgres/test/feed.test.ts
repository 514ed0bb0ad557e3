import { createAuthenticator, createKeyManager, type KeyChangeFeed } from '@orkesta/auth';
import { decodeKeyChangeMessage } from '@orkesta/auth/store';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_PAYLOAD_BYTES, migrate, type PostgresKeyStore } from '../src/index.js';
import {
  admin,
  appName,
  available,
  backends,
  closeLater,
  codeOf,
  listening,
  newSchema,
  openStore,
  POSTGRES_URL,
  poolLater,
  rejection,
  sleep,
  terminate,
  until,
  within,
} from './helpers.js';

/** A migrated schema and two stores on it, each with its own pool (made lazily). */
async function stores(
  options: Parameters<typeof openStore>[0] = {},
): Promise<[PostgresKeyStore, PostgresKeyStore]> {
  const schema = newSchema();
  await migrate({ connectionString: POSTGRES_URL, schema });
  return [openStore({ schema, ...options }), openStore({ schema, ...options })];
}

/** The next change `store`'s feed delivers. */
function nextChange(store: PostgresKeyStore, ms: number): Promise<readonly string[]> {
  let stop: (() => void) | undefined;
  return within(
    new Promise<readonly string[]>((resolve) => {
      stop = store.changes.subscribe((ids) => resolve(ids));
    }),
    ms,
    'the change',
  ).finally(() => stop?.());
}

/**
 * Subscribes to `store.changes` and resolves, once its LISTEN is in place, to what it heard so
 * far and `next(n)`: resolves once `n` changes have arrived in all.
 */
async function recorder(store: PostgresKeyStore) {
  const heard: (readonly string[])[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (heard.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const stop = await listening(store, (ids) => {
    heard.push(ids);
    settle();
  });
  return {
    heard,
    stop,
    next: (count: number) =>
      within(
        new Promise<void>((resolve) => {
          waiters.push({ count, resolve });
          settle();
        }),
        2_000,
        `change number ${count}`,
      ),
  };
}

/** A notification on `channel` from no store's handle: a marker that arrives after what came before. */
async function marker(channel: string, id: string): Promise<void> {
  await admin.query('SELECT pg_notify($1, $2)', [
    channel,
    JSON.stringify({ o: 'marker', ids: [id] }),
  ]);
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Polls `authenticate` until it stops admitting; resolves to its code and how long it took. */
async function refusedWithin(
  authenticate: () => Promise<string>,
  ms: number,
): Promise<{ code: string; afterMs: number }> {
  const start = Date.now();
  let code = 'ok';
  while (code === 'ok' && Date.now() - start < ms) {
    await sleep(10);
    code = await authenticate();
  }
  return { code, afterMs: Date.now() - start };
}

const NO_FEED: KeyChangeFeed = {
  publish() {},
  subscribe() {
    return () => {};
  },
};

describe.skipIf(!available)('the change feed over LISTEN/NOTIFY', () => {
  it('publish tells this handle at once, another handle once, and its own echo is ignored', async () => {
    const [a, b] = await stores();
    const heardByA: (readonly string[])[] = [];
    const heardByB: (readonly string[])[] = [];
    await listening(a, (ids) => heardByA.push(ids));
    await listening(b, (ids) => heardByB.push(ids));
    const arrived = nextChange(b, 1_000);
    const published = a.changes.publish(['AAAAAAAAAAAA', 'BBBBBBBBBBBB']);
    expect(heardByA).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB']]); // synchronously, before the server
    await published;
    expect(await arrived).toEqual(['AAAAAAAAAAAA', 'BBBBBBBBBBBB']);
    // A hears its own notification come back from the server and drops it; a later one from B
    // arrives after it, so by then A has seen (and ignored) its echo.
    const fromB = nextChange(a, 1_000);
    await b.changes.publish(['CCCCCCCCCCCC']);
    await fromB;
    expect(heardByA).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB'], ['CCCCCCCCCCCC']]);
    expect(heardByB).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB'], ['CCCCCCCCCCCC']]);
  });

  it('stores on different schemas never hear each other', async () => {
    const [a] = await stores();
    const [other] = await stores();
    expect(other.channel).not.toBe(a.channel);
    const heard: (readonly string[])[] = [];
    await listening(other, (ids) => heard.push(ids));
    await a.changes.publish(['AAAAAAAAAAAA']);
    // A notification on the other channel would have come before this one on its own.
    const own = nextChange(other, 1_000);
    await admin.query('SELECT pg_notify($1, $2)', [
      other.channel,
      JSON.stringify({ o: 'elsewhere', ids: ['ZZZZZZZZZZZZ'] }),
    ]);
    await own;
    expect(heard).toEqual([['ZZZZZZZZZZZZ']]);
  });

  it('splits a large change into notifications under the 8000-byte limit, delivered in order', async () => {
    const [a, b] = await stores();
    const raw = new pg.Client({ connectionString: POSTGRES_URL });
    raw.on('error', () => {});
    closeLater({ close: () => raw.end() });
    await raw.connect();
    const sizes: number[] = [];
    let idsSeenRaw = 0;
    raw.on('notification', (message) => {
      sizes.push(Buffer.byteLength(message.payload ?? ''));
      idsSeenRaw += decodeKeyChangeMessage(message.payload)?.ids.length ?? 0;
    });
    await raw.query(`LISTEN "${a.channel}"`);

    const ids = Array.from({ length: 3_000 }, (_, i) => `key${String(i).padStart(9, '0')}`);
    const heard: string[] = [];
    await listening(b, (batch) => heard.push(...batch));
    await a.changes.publish(ids);
    await until(() => heard.length >= ids.length, 2_000, 'every id');
    expect(heard).toEqual(ids);
    // The raw connection hears the same notifications on its own schedule.
    await until(() => idsSeenRaw >= ids.length, 2_000, 'every id on the raw connection');
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });

  it('malformed notifications are reported and ignored, never thrown', async () => {
    const reports: string[] = [];
    const [target] = await stores({
      onError: (_error, context) => reports.push(context.operation),
    });
    const heard: (readonly string[])[] = [];
    await listening(target, (ids) => heard.push(ids));
    for (const payload of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ o: 'x', ids: [1, 2] }),
      JSON.stringify({ ids: ['AAAAAAAAAAAA'] }),
    ]) {
      await admin.query('SELECT pg_notify($1, $2)', [target.channel, payload]);
    }
    const good = nextChange(target, 1_000);
    await admin.query('SELECT pg_notify($1, $2)', [
      target.channel,
      JSON.stringify({ o: 'x', ids: ['BBBBBBBBBBBB'] }),
    ]);
    expect(await good).toEqual(['BBBBBBBBBBBB']);
    expect(heard).toEqual([['BBBBBBBBBBBB']]);
    expect(reports).toEqual(Array(5).fill('notification'));
  });

  it('two authenticators on two stores: a key revoked through one is refused by the other within 1 second', async () => {
    const [a, b] = await stores();
    await listening(b); // B's instance is up and listening
    const manager = createKeyManager({ store: a });
    const authA = closeLater(createAuthenticator({ store: a, lastUsed: false }));
    const authB = closeLater(createAuthenticator({ store: b, lastUsed: false }));
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const request = { authorization: `Bearer ${key}`, secure: true };
    expect(codeOf(await authA.authenticate(request))).toBe('ok');
    expect(codeOf(await authB.authenticate(request))).toBe('ok'); // both have it cached now

    await manager.revoke(record.id);
    expect(codeOf(await authA.authenticate(request))).toBe('api_key_revoked'); // at once
    const { code } = await refusedWithin(
      async () => codeOf(await authB.authenticate(request)),
      1_000,
    );
    expect(code).toBe('api_key_revoked');
  });

  it('without the feed, the other instance refuses the revoked key once its cache entry expires, not before', async () => {
    const [a, b] = await stores();
    let now = Date.now();
    const ttlMs = 500;
    const manager = createKeyManager({ store: a });
    const authB = closeLater(
      createAuthenticator({
        store: b,
        changeFeed: NO_FEED,
        lastUsed: false,
        cache: { ttlMs },
        now: () => now,
      }),
    );
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const request = { authorization: `Bearer ${key}`, secure: true };
    expect(codeOf(await authB.authenticate(request))).toBe('ok'); // cached at `now`
    // B's process hears the notification on its store's feed; its authenticator is not on it.
    const heardByB = await recorder(b);
    await manager.revoke(record.id);
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([[record.id]]);
    expect(codeOf(await authB.authenticate(request))).toBe('ok'); // stale, within the TTL
    now += ttlMs - 1;
    expect(codeOf(await authB.authenticate(request))).toBe('ok');
    now += 2; // the entry is older than the TTL: B asks the store again
    expect(codeOf(await authB.authenticate(request))).toBe('api_key_revoked');
  });

  it('after its connection is terminated it reconnects, resets subscribers, and hears later changes', async () => {
    const name = appName();
    const reports: string[] = [];
    const [a, b] = await stores({
      applicationName: name,
      reconnectDelayMs: { min: 50, max: 500 },
      onError: (_error, context) => reports.push(context.operation),
    });
    let resets = 0;
    await listening(
      b,
      () => {},
      () => resets++,
    );
    expect(resets).toBe(1); // the first LISTEN: anything before it was unheard
    const manager = createKeyManager({ store: a });
    const authB = closeLater(createAuthenticator({ store: b, lastUsed: false }));
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const request = { authorization: `Bearer ${key}`, secure: true };

    expect(await backends(`${name}-listen`)).toHaveLength(1); // one connection: B's (A has no listener)
    expect(await terminate(`${name}-listen`)).toBe(1);
    await until(() => resets === 2, 3_000, 'the reset after reconnecting');
    expect(reports).toContain('listen');
    expect(await backends(`${name}-listen`)).toHaveLength(1);

    expect(codeOf(await authB.authenticate(request))).toBe('ok'); // cached again
    await manager.revoke(record.id);
    const { code } = await refusedWithin(
      async () => codeOf(await authB.authenticate(request)),
      1_000,
    );
    expect(code).toBe('api_key_revoked');
  });

  it('unsubscribing the last listener closes the listening connection; close() ends it for good', async () => {
    const name = appName();
    // The other store only publishes (through its pool): it never opens a listening connection.
    const [store, other] = await stores({ applicationName: name });
    const first = await listening(store);
    const second = await recorder(store);
    expect(await backends(`${name}-listen`)).toHaveLength(1); // one connection for both
    first();
    // The connection still serves the other subscriber: a later change reaches it.
    await other.changes.publish(['AAAAAAAAAAAA']);
    await second.next(1);
    expect(await backends(`${name}-listen`)).toHaveLength(1);
    second.stop();
    await until(
      async () => (await backends(`${name}-listen`)).length === 0,
      2_000,
      'the connection closing',
    );
    await listening(store);
    expect(await backends(`${name}-listen`)).toHaveLength(1);
    await store.close();
    await until(
      async () => (await backends(`${name}-listen`)).length === 0,
      2_000,
      'the connection closing',
    );
    expect(() => store.changes.subscribe(() => {})).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_STORE_CLOSED' }),
    );
  });

  it('a throwing listener goes to onError as notification; the others, and another instance, still hear the change', async () => {
    const reports: [unknown, string][] = [];
    const [a, b] = await stores({
      onError: (error, context) => reports.push([error, context.operation]),
    });
    const boom = new Error('listener failed');
    for (const store of [a, b]) {
      await listening(store, () => {
        throw boom;
      });
    }
    const heardByA = await recorder(a);
    const heardByB = await recorder(b);
    await a.changes.publish(['AAAAAAAAAAAA']); // resolves: the throw stopped nothing
    expect(heardByA.heard).toEqual([['AAAAAAAAAAAA']]);
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([['AAAAAAAAAAAA']]);
    expect(reports).toEqual([
      [boom, 'notification'],
      [boom, 'notification'],
    ]);
  });

  it('a throwing listener without onError is a process warning, never silent', async () => {
    const warned = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const [a, b] = await stores();
    const boom = new Error('listener failed');
    await listening(b, () => {
      throw boom;
    });
    const heardByB = await recorder(b);
    await a.changes.publish(['AAAAAAAAAAAA']);
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([['AAAAAAAAAAAA']]);
    expect(warned).toHaveBeenCalledWith(boom, 'OrkestaAuthWarning');
  });

  it('publish after close rejects with ERR_ORKESTA_AUTH_STORE_CLOSED and notifies no one', async () => {
    const [a, b] = await stores();
    const heardByB = await recorder(b);
    await a.close();
    expect(await rejection(a.changes.publish(['AAAAAAAAAAAA']))).toBe(
      'ERR_ORKESTA_AUTH_STORE_CLOSED',
    );
    // Notifications on a channel arrive in order: had A sent one, it would come first.
    await marker(b.channel, 'MMMMMMMMMMMM');
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([['MMMMMMMMMMMM']]);
  });

  it('a store on your own pool listens with the same connection settings', async () => {
    const name = appName();
    const schema = newSchema();
    await migrate({ connectionString: POSTGRES_URL, schema });
    const pool = poolLater(new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }));
    const [a] = await stores();
    const mine = openStore({ pool, schema: a.schema, applicationName: name });
    await listening(mine);
    expect(await backends(`${name}-listen`)).toHaveLength(1);
    const arrived = nextChange(mine, 1_000);
    await a.changes.publish(['AAAAAAAAAAAA']);
    expect(await arrived).toEqual(['AAAAAAAAAAAA']);
  });
});
