import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ApiKeyRecord,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  KeyManagementError,
  StoreClosedError,
} from '@orkesta/auth';
import { sampleKeyRecord } from '@orkesta/auth/testing';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_POLL_INTERVAL_MS,
  openSqliteKeyStore,
  SqliteKeyStore,
  type SqliteKeyStoreOptions,
} from '../src/index.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const T0 = Date.UTC(2026, 0, 1);

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error & { code?: unknown };
  }
  throw new Error('expected a rejection');
}

function thrown(run: () => unknown): Error & { code?: unknown } {
  try {
    run();
  } catch (error) {
    return error as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

describe('options', () => {
  it.each<[string, unknown]>([
    ['no options', undefined],
    ['null options', null],
    ['a number for options', 42],
    ['no filename', {}],
    ['a number for filename', { filename: 42 }],
    ['a Buffer for filename', { filename: Buffer.from('keys.db') }],
    ['an empty filename', { filename: '' }],
    ['a NUL in the filename', { filename: 'keys\0.db' }],
    ['pollIntervalMs 0', { filename: ':memory:', pollIntervalMs: 0 }],
    ['pollIntervalMs negative', { filename: ':memory:', pollIntervalMs: -250 }],
    ['pollIntervalMs fractional', { filename: ':memory:', pollIntervalMs: 2.5 }],
    ['pollIntervalMs as a string', { filename: ':memory:', pollIntervalMs: '250' }],
    ['pollIntervalMs NaN', { filename: ':memory:', pollIntervalMs: Number.NaN }],
    ['pollIntervalMs beyond a timer', { filename: ':memory:', pollIntervalMs: 2 ** 31 }],
    ['busyTimeoutMs 0', { filename: ':memory:', busyTimeoutMs: 0 }],
    ['busyTimeoutMs Infinity', { filename: ':memory:', busyTimeoutMs: Number.POSITIVE_INFINITY }],
    ['onFeedError not a function', { filename: ':memory:', onFeedError: 'log' }],
    ['a misspelt option', { filename: ':memory:', pollInterval: 100 }],
  ])('%s is a ConfigurationError', (_, options) => {
    const error = thrown(() => new SqliteKeyStore(options as SqliteKeyStoreOptions));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.code).toBe('ERR_ORKESTA_AUTH_CONFIG');
  });

  it.each<[string, string]>([
    ['pollInterval', 'pollIntervalMs'],
    ['busyTimeout', 'busyTimeoutMs'],
    ['onfeederror', 'onFeedError'],
    ['fileName', 'filename'],
  ])(
    'a misspelt option (%s) is refused, naming it and the option it likely meant',
    (typo, meant) => {
      for (const open of [
        () => new SqliteKeyStore({ filename: ':memory:', [typo]: 1 } as SqliteKeyStoreOptions),
        () => openSqliteKeyStore({ filename: ':memory:', [typo]: 1 } as SqliteKeyStoreOptions),
      ]) {
        expect(thrown(open)).toMatchObject({
          code: 'ERR_ORKESTA_AUTH_CONFIG',
          option: typo,
          suggestion: meant,
        });
      }
    },
  );

  it('defaults to polling every 250 ms and waiting 5 s for a lock', () => {
    expect(DEFAULT_POLL_INTERVAL_MS).toBe(250);
    expect(DEFAULT_BUSY_TIMEOUT_MS).toBe(5_000);
  });

  it('openSqliteKeyStore takes a path or the options', async () => {
    const filename = join(tempDir(), 'keys.db');
    const record = sampleKeyRecord();
    const byPath = openSqliteKeyStore(filename);
    expect(byPath).toBeInstanceOf(SqliteKeyStore);
    expect(byPath.filename).toBe(filename);
    await byPath.insert(record);
    await byPath.close();
    const byOptions = openSqliteKeyStore({ filename, pollIntervalMs: 100, busyTimeoutMs: 100 });
    expect(await byOptions.findById(record.id)).toEqual(record);
    await byOptions.close();
    expect(() => openSqliteKeyStore(7 as unknown as string)).toThrow(ConfigurationError);
  });
});

describe('closed', () => {
  it('every method rejects with ERR_ORKESTA_AUTH_STORE_CLOSED, and closing again is fine', async () => {
    const store = new SqliteKeyStore({ filename: join(tempDir(), 'keys.db') });
    const record = sampleKeyRecord();
    await store.insert(record);
    expect(store.closed).toBe(false);
    await store.close();
    expect(store.closed).toBe(true);
    await store.close();
    const attempts = [
      store.findById(record.id),
      store.insert(sampleKeyRecord()),
      store.list({ now: new Date(T0), limit: 10 }),
      store.update(record.id, { revokedAt: new Date(T0) }),
      store.recordLastUsed(new Map([[record.id, new Date(T0)]])),
      Promise.resolve(store.changes.publish([record.id])),
    ];
    for (const attempt of attempts) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(StoreClosedError);
      expect(error.code).toBe('ERR_ORKESTA_AUTH_STORE_CLOSED');
      expect(error.message).toContain(`the SqliteKeyStore on ${store.filename} is closed`);
    }
    const subscribing = thrown(() => store.changes.subscribe(() => {}));
    expect(subscribing).toBeInstanceOf(StoreClosedError);
    expect(subscribing.code).toBe('ERR_ORKESTA_AUTH_STORE_CLOSED');
  });

  it('an authenticator on a closed store answers 503 auth_unavailable, never ok', async () => {
    const store = new SqliteKeyStore({ filename: join(tempDir(), 'keys.db') });
    const issued = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-only',
    });
    const auth = createAuthenticator({ store, cache: false, lastUsed: false });
    const request = { authorization: `Bearer ${issued.key}`, secure: true };
    expect((await auth.authenticate(request)).ok).toBe(true);
    await store.close();
    const result = await auth.authenticate(request);
    expect(result.ok ? 'ok' : [result.error.code, result.error.status]).toEqual([
      'auth_unavailable',
      503,
    ]);
    await auth.close();
  });
});

describe('errors', () => {
  it('a write that waits longer than busyTimeoutMs for another process rejects with SQLITE_BUSY', async () => {
    const filename = join(tempDir(), 'keys.db');
    const store = new SqliteKeyStore({ filename, busyTimeoutMs: 50 });
    const manager = createKeyManager({ store });
    const record = sampleKeyRecord();
    await store.insert(record);
    const other = new Database(filename);
    other.exec('BEGIN IMMEDIATE'); // holds the write lock, as a busy process would
    try {
      for (const write of [
        store.insert(sampleKeyRecord()),
        store.update(record.id, { revokedAt: new Date(T0) }),
        store.recordLastUsed(new Map([[record.id, new Date(T0)]])),
        manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' }),
      ]) {
        expect((await rejection(write)).code).toBe('SQLITE_BUSY');
      }
      // Reads go on: WAL lets them past a writer.
      expect(await store.findById(record.id)).toEqual(record);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await store.update(record.id, { revokedAt: new Date(T0) })).toEqual({
      ...record,
      revokedAt: new Date(T0),
    });
    await store.close();
  });

  it.each<[string, Partial<ApiKeyRecord>]>([
    ['an unknown scope', { scope: 'owner' as never }],
    ['an unknown environment', { environment: 'staging' as never }],
    ['an invalid date', { createdAt: new Date(Number.NaN) }],
    ['a date that is not a Date', { expiresAt: '2026-01-01' as never }],
    ['a name that is not a string', { name: 42 as never }],
    ['a rotatedFromId that is not a string', { rotatedFromId: {} as never }],
  ])('insert refuses %s with invalid_key_parameters', async (_, overrides) => {
    const store = new SqliteKeyStore({ filename: ':memory:' });
    const error = await rejection(store.insert({ ...sampleKeyRecord(), ...overrides }));
    expect(error).toBeInstanceOf(KeyManagementError);
    expect(error.code).toBe('invalid_key_parameters');
    await store.close();
  });

  it('list refuses a limit that is not an integer from 1 to 1000 with invalid_key_parameters', async () => {
    const store = new SqliteKeyStore({ filename: ':memory:' });
    expect((await store.list({ now: new Date(T0), limit: 1000 })).items).toEqual([]);
    for (const limit of [0, -1, 1.5, Number.NaN, 1001]) {
      expect((await rejection(store.list({ now: new Date(T0), limit }))).code).toBe(
        'invalid_key_parameters',
      );
    }
    await store.close();
  });

  it("no error, and no byte of the file, carries a key's plaintext", async () => {
    const dir = tempDir();
    const filename = join(dir, 'keys.db');
    const store = new SqliteKeyStore({ filename, busyTimeoutMs: 20 });
    const manager = createKeyManager({ store });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const secret = issued.key.slice('ork_live_'.length + 13);
    const record = (await store.findById(issued.record.id)) as ApiKeyRecord;
    const errors: unknown[] = [
      await rejection(store.insert(record)),
      await rejection(store.list({ now: new Date(T0), limit: 1, cursor: issued.key })),
    ];
    const other = new Database(filename);
    other.exec('BEGIN IMMEDIATE');
    errors.push(await rejection(manager.revoke(issued.record.id)));
    other.exec('ROLLBACK');
    other.close();
    await store.close();
    errors.push(await rejection(store.findById(issued.record.id)));
    errors.push(
      await rejection(manager.create({ workspaceId: 'ws_1', name: 'x', scope: 'admin' })),
    );
    expect(errors).toHaveLength(5);
    for (const error of errors) {
      const text = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)}`;
      expect(text).not.toContain(secret);
    }
    for (const file of readdirSync(dir)) {
      expect(readFileSync(join(dir, file)).includes(secret), file).toBe(false);
    }
  });
});

describe('per-key rate limits', () => {
  it('are kept, changed, cleared and carried over by rotation', async () => {
    const filename = join(tempDir(), 'keys.db');
    const store = new SqliteKeyStore({ filename });
    const manager = createKeyManager({ store });
    const policy = { limit: 10, windowSeconds: 60, burst: 10 };
    const issued = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-write',
      rateLimit: policy,
    });
    expect((await store.findById(issued.record.id))?.rateLimit).toEqual(policy);
    const raised = { limit: 100, windowSeconds: 60, burst: 120 };
    await manager.setRateLimit(issued.record.id, raised);
    const reopened = new SqliteKeyStore({ filename });
    expect((await reopened.findById(issued.record.id))?.rateLimit).toEqual(raised);
    const { issued: successor } = await manager.rotate(issued.record.id);
    expect((await reopened.findById(successor.record.id))?.rateLimit).toEqual(raised);
    await manager.setRateLimit(issued.record.id, null);
    expect((await reopened.findById(issued.record.id))?.rateLimit ?? null).toBeNull();
    expect(await store.update(successor.record.id, {})).toMatchObject({ rateLimit: raised });
    await reopened.close();
    await store.close();
  });
});
