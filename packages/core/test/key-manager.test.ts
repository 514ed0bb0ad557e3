import { once } from 'node:events';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import {
  type ApiKeyRecord,
  ChangeFeedTimeoutError,
  ConfigurationError,
  type CreateKeyInput,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  IssuedKey,
  type KeyChangeFeed,
  KeyManagementError,
  type KeyManagerOptions,
  type KeyStore,
  MemoryKeyStore,
  parseApiKey,
} from '../src/index.js';
import { KeyHasher } from '../src/store.js';
import { bearer, fakeClock, rejection, T0 } from './helpers.js';

const pepper = { id: 'p1', secret: 'a-long-enough-server-pepper' };

function setup(options: Partial<KeyManagerOptions> = {}) {
  const clock = fakeClock();
  const store = new MemoryKeyStore();
  const published: string[][] = [];
  const feed: KeyChangeFeed = {
    publish: (ids) => {
      published.push([...ids]);
    },
    subscribe: () => () => {},
  };
  const manager = createKeyManager({ store, now: clock.now, changeFeed: feed, ...options });
  return { clock, store, manager, published };
}

const input: CreateKeyInput = {
  workspaceId: 'ws_1',
  name: 'production-erp-integration',
  scope: 'read-write',
};

/** Every record of the store, as stored. */
async function dump(store: MemoryKeyStore): Promise<ApiKeyRecord[]> {
  return [...(await store.list({ now: new Date(T0), limit: 1000 })).items];
}

describe('KeyManager.create', () => {
  it('issues a key that parses and verifies against the stored hash', async () => {
    const { manager, store } = setup();
    const issued = await manager.create(input);
    expect(issued).toBeInstanceOf(IssuedKey);
    const parsed = parseApiKey(issued.key);
    expect(parsed).toMatchObject({ environment: 'live', id: issued.record.id });
    expect(parsed?.token).toBe(issued.key);
    const stored = (await store.findById(issued.record.id))!;
    const hasher = new KeyHasher();
    const decoded = hasher.decode(stored.hash)!;
    expect(stored.hash.startsWith('sha256$')).toBe(true);
    expect(hasher.verify(issued.key, decoded)).toBe(true);
  });

  it('returns the record without its hash, and stores the metadata', async () => {
    const { manager, store } = setup();
    const issued = await manager.create({ ...input, expiresAt: new Date(T0 + 60_000) });
    expect(issued.record).toEqual({
      id: issued.record.id,
      kind: 'opaque',
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
      environment: 'live',
      status: 'active',
      createdAt: new Date(T0),
      expiresAt: new Date(T0 + 60_000),
      revokedAt: null,
      lastUsedAt: null,
      rotatedFromId: null,
      rateLimit: null,
    });
    expect(issued.record).not.toHaveProperty('hash');
    const stored = (await store.findById(issued.record.id))!;
    const { status: _status, kind: _kind, rateLimit, ...info } = issued.record;
    expect(rateLimit).toBeNull();
    // A key without its own rate is stored without one: no `rateLimit` field.
    expect(stored).toEqual({ ...info, hash: expect.stringMatching(/^sha256\$/) });
    expect(stored).not.toHaveProperty('rateLimit');
  });

  it('never stores the plaintext', async () => {
    const { manager, store } = setup();
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push((await manager.create(input)).key);
    const contents = JSON.stringify(await dump(store));
    for (const key of keys) {
      expect(contents).not.toContain(key);
      expect(contents).not.toContain(key.slice(22, 54));
    }
  });

  it('does not show the key when serialised, printed, inspected or spread', async () => {
    const { manager } = setup();
    const issued = await manager.create(input);
    const key = issued.key;
    expect(key).toHaveLength(60);
    expect(JSON.stringify(issued)).not.toContain(key);
    expect(JSON.parse(JSON.stringify(issued))).toEqual({
      key: '[redacted]',
      record: JSON.parse(JSON.stringify(issued.record)),
    });
    expect(String(issued)).not.toContain(key);
    expect(`${issued}`).toContain(issued.record.id);
    expect(inspect(issued)).not.toContain(key);
    expect(inspect(issued, { showHidden: true, depth: 10 })).not.toContain(key);
    expect(inspect({ wrapped: [issued] })).not.toContain(key);
    expect(JSON.stringify({ ...issued })).not.toContain(key);
    expect(Object.keys(issued)).toEqual(['record']);
    expect(JSON.stringify(structuredClone(issued))).not.toContain(key);
  });

  it('keeps the key read-only', async () => {
    const { manager } = setup();
    const issued = await manager.create(input);
    const key = issued.key;
    expect(() => {
      (issued as { key: string }).key = 'x';
    }).toThrow(TypeError);
    expect(issued.key).toBe(key);
  });

  it('issues test keys when asked, or by default when configured', async () => {
    const { manager } = setup();
    expect((await manager.create({ ...input, environment: 'test' })).key).toMatch(/^ork_test_/);
    const testManager = setup({ environment: 'test' }).manager;
    const issued = await testManager.create(input);
    expect(issued.key).toMatch(/^ork_test_/);
    expect(issued.record.environment).toBe('test');
  });

  it('accepts an expiry as a Date, epoch ms or ISO-8601 string', async () => {
    const { manager } = setup();
    const at = T0 + 3_600_000;
    for (const expiresAt of [new Date(at), at, new Date(at).toISOString()]) {
      expect((await manager.create({ ...input, expiresAt })).record.expiresAt).toEqual(
        new Date(at),
      );
    }
    expect((await manager.create({ ...input, expiresAt: null })).record.expiresAt).toBeNull();
  });

  it('accepts a name of exactly 100 characters', async () => {
    const { manager } = setup();
    const name = 'n'.repeat(100);
    expect((await manager.create({ ...input, name })).record.name).toBe(name);
  });

  it('publishes the new key id to the change feed', async () => {
    const { manager, published } = setup();
    const issued = await manager.create(input);
    expect(published).toEqual([[issued.record.id]]);
  });

  it.each<[string, Partial<Record<keyof CreateKeyInput, unknown>>]>([
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a name of 101 characters', { name: 'n'.repeat(101) }],
    ['a name with a line break', { name: 'line\nbreak' }],
    ['a name with a carriage return', { name: 'fake\r[INFO] ok' }],
    ['a name with an escape', { name: 'red\u001b[31m' }],
    ['a name with a NUL', { name: 'a\u0000b' }],
    ['a name with DEL', { name: 'a\u007fb' }],
    ['a name that is not a string', { name: 42 }],
    ['no workspace', { workspaceId: undefined }],
    ['an empty workspace', { workspaceId: '' }],
    ['a workspace of 201 characters', { workspaceId: 'w'.repeat(201) }],
    ['a workspace with a tab', { workspaceId: 'ws\t1' }],
    ['an unknown scope', { scope: 'superuser' }],
    ['a scope in a list', { scope: ['admin'] }],
    ['no scope', { scope: undefined }],
    ['an expiry in the past', { expiresAt: new Date(T0 - 1) }],
    ['an expiry of now', { expiresAt: T0 }],
    ['a malformed date string', { expiresAt: 'next tuesday' }],
    ['an empty date string', { expiresAt: '' }],
    ['an invalid Date', { expiresAt: new Date(Number.NaN) }],
    ['a NaN expiry', { expiresAt: Number.NaN }],
    ['a boolean expiry', { expiresAt: true }],
    ['an unknown environment', { environment: 'prod' }],
    [
      'a misspelt field (expires for expiresAt), which would issue a key that never expires',
      { expires: T0 + 60_000 } as Record<string, unknown>,
    ],
    ['a field no key has', { owner: 'alice' } as Record<string, unknown>],
  ])('refuses %s with invalid_key_parameters (400)', async (_, change) => {
    const { manager, store, published } = setup();
    const error = await rejection(manager.create({ ...input, ...change } as CreateKeyInput));
    expect(error.code).toBe('invalid_key_parameters');
    expect(error.status).toBe(400);
    expect(await dump(store)).toEqual([]);
    expect(published).toEqual([]);
  });

  it('names a misspelt field and the one it most likely meant', async () => {
    const { manager } = setup();
    const error = await rejection(
      manager.create({ ...input, scpoe: 'admin' } as unknown as CreateKeyInput),
    );
    expect(error.code).toBe('invalid_key_parameters');
    expect(error.message).toContain('"scpoe"');
    expect(error.message).toContain('"scope"');
  });

  it('refuses a missing input', async () => {
    const { manager } = setup();
    const error = await rejection(manager.create(undefined as unknown as CreateKeyInput));
    expect(error.code).toBe('invalid_key_parameters');
  });

  it('tries a fresh id when the store reports a duplicate, up to three times', async () => {
    const store = new MemoryKeyStore();
    const insert = vi.spyOn(store, 'insert');
    const duplicate = new KeyManagementError('duplicate_key_id', 'taken');
    insert.mockRejectedValueOnce(duplicate).mockRejectedValueOnce(duplicate);
    const manager = createKeyManager({ store });
    const issued = await manager.create(input);
    expect(insert).toHaveBeenCalledTimes(3);
    const ids = insert.mock.calls.map(([record]) => record.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids[2]).toBe(issued.record.id);
    expect(await store.findById(issued.record.id)).toBeDefined();

    insert.mockRejectedValue(duplicate);
    const error = await rejection(manager.create(input));
    expect(error.code).toBe('duplicate_key_id');
    expect(insert).toHaveBeenCalledTimes(6);
  });

  it('does not retry other store failures', async () => {
    const store = new MemoryKeyStore();
    const failure = new Error('disk full');
    const insert = vi.spyOn(store, 'insert').mockRejectedValue(failure);
    await expect(createKeyManager({ store }).create(input)).rejects.toBe(failure);
    expect(insert).toHaveBeenCalledTimes(1);
  });
});

describe('KeyManager.get', () => {
  it('returns the key with its status now, or undefined', async () => {
    const { manager, clock } = setup();
    const issued = await manager.create({ ...input, expiresAt: T0 + 1000 });
    expect(await manager.get(issued.record.id)).toEqual(issued.record);
    clock.set(T0 + 1000);
    expect((await manager.get(issued.record.id))!.status).toBe('expired');
    expect(await manager.get('AAAAAAAAAAAA')).toBeUndefined();
    expect(await manager.get('')).toBeUndefined();
    expect(await manager.get(42 as unknown as string)).toBeUndefined();
  });

  it('hides a key of another workspace than the guard names', async () => {
    const { manager } = setup();
    const issued = await manager.create(input);
    expect(await manager.get(issued.record.id, { workspaceId: 'ws_2' })).toBeUndefined();
    expect((await manager.get(issued.record.id, { workspaceId: 'ws_1' }))!.id).toBe(
      issued.record.id,
    );
    expect((await manager.get(issued.record.id, {}))!.id).toBe(issued.record.id);
  });
});

describe('KeyManager.revoke', () => {
  it('revokes at once, publishes the id, and is idempotent', async () => {
    const { manager, store, clock, published } = setup();
    const issued = await manager.create(input);
    published.length = 0;
    clock.advance(500);
    const revoked = await manager.revoke(issued.record.id);
    expect(revoked).toMatchObject({ status: 'revoked', revokedAt: new Date(T0 + 500) });
    expect((await store.findById(issued.record.id))!.revokedAt).toEqual(new Date(T0 + 500));
    expect(published).toEqual([[issued.record.id]]);

    clock.advance(500);
    const again = await manager.revoke(issued.record.id);
    expect(again).toMatchObject({ status: 'revoked', revokedAt: new Date(T0 + 500) });
    expect((await store.findById(issued.record.id))!.revokedAt).toEqual(new Date(T0 + 500));
  });

  it('answers api_key_not_found (404) for an unknown key or another workspace', async () => {
    const { manager, store } = setup();
    const issued = await manager.create(input);
    const unknown = await rejection(manager.revoke('AAAAAAAAAAAA'));
    expect(unknown.code).toBe('api_key_not_found');
    expect(unknown.status).toBe(404);
    const guarded = await rejection(manager.revoke(issued.record.id, { workspaceId: 'ws_2' }));
    expect(guarded.code).toBe('api_key_not_found');
    expect((await store.findById(issued.record.id))!.revokedAt).toBeNull();
  });

  it('names an id in its message, but never echoes a whole key pasted where the id belongs', async () => {
    const { manager } = setup();
    const issued = await manager.create(input);
    await manager.revoke(issued.record.id);
    const unknownId = await rejection(manager.revoke('AAAAAAAAAAAA'));
    expect(unknownId.message).toContain('AAAAAAAAAAAA');
    // A key id followed by anything else (here the key's secret) is not a key id either.
    const idThenSecret = `${issued.record.id}_${issued.key.slice(22, 54)}`;
    for (const operation of [
      manager.revoke(issued.key),
      manager.rotate(issued.key),
      manager.setRateLimit(issued.key, null),
      manager.revoke(idThenSecret),
      manager.rotate(idThenSecret),
    ]) {
      const error = await rejection(operation);
      expect(error.code).toBe('api_key_not_found');
      for (const shown of [
        error.message,
        String(error.stack),
        inspect(error),
        JSON.stringify(error),
      ]) {
        expect(shown).not.toContain(issued.key.slice(22, 54));
      }
    }
    const notActive = await rejection(manager.rotate(issued.record.id));
    expect(notActive.code).toBe('api_key_not_active');
    expect(notActive.message).toContain(issued.record.id);
  });

  it('answers api_key_not_found when the key vanishes before the update', async () => {
    const { manager, store } = setup();
    const issued = await manager.create(input);
    vi.spyOn(store, 'update').mockResolvedValueOnce(undefined);
    const error = await rejection(manager.revoke(issued.record.id));
    expect(error.code).toBe('api_key_not_found');
  });

  it('stops the key at once for an authenticator sharing the change feed', async () => {
    const clock = fakeClock();
    const store = new MemoryKeyStore();
    const changeFeed = createLocalChangeFeed();
    const manager = createKeyManager({ store, now: clock.now, changeFeed });
    const auth = createAuthenticator({ store, now: clock.now, changeFeed, lastUsed: false });
    const issued = await manager.create(input);
    expect((await auth.authenticate(bearer(issued.key))).ok).toBe(true);
    await manager.revoke(issued.record.id);
    const result = await auth.authenticate(bearer(issued.key));
    expect(result.ok === false && result.error.code).toBe('api_key_revoked');
  });
});

describe('KeyManager.rotate', () => {
  function rotateSetup() {
    const clock = fakeClock();
    const store = new MemoryKeyStore();
    const changeFeed = createLocalChangeFeed();
    const published: string[][] = [];
    changeFeed.subscribe((ids) => published.push([...ids]));
    const manager = createKeyManager({ store, now: clock.now, changeFeed });
    const auth = createAuthenticator({ store, now: clock.now, changeFeed, lastUsed: false });
    const code = async (key: string) => {
      const result = await auth.authenticate(bearer(key));
      return result.ok ? 'ok' : result.error.code;
    };
    return { clock, store, manager, auth, published, code };
  }

  it('issues a successor with the same workspace, name, scope and environment', async () => {
    const { manager, clock } = rotateSetup();
    const old = await manager.create({ ...input, environment: 'test' });
    clock.advance(1000);
    const { issued, previous } = await manager.rotate(old.record.id);
    expect(issued.record).toMatchObject({
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
      environment: 'test',
      status: 'active',
      rotatedFromId: old.record.id,
      createdAt: new Date(T0 + 1000),
      expiresAt: null,
    });
    expect(issued.record.id).not.toBe(old.record.id);
    expect(issued.key).toMatch(/^ork_test_/);
    expect(parseApiKey(issued.key)!.id).toBe(issued.record.id);
    expect(previous).toMatchObject({
      id: old.record.id,
      expiresAt: new Date(T0 + 1000),
      status: 'expired',
    });
  });

  it('with no overlap, stops the old key at once for an authenticator on the feed', async () => {
    const { manager, code, published } = rotateSetup();
    const old = await manager.create(input);
    expect(await code(old.key)).toBe('ok');
    published.length = 0;
    const { issued } = await manager.rotate(old.record.id, { overlapMs: 0 });
    expect(published).toEqual([[old.record.id, issued.record.id]]);
    expect(await code(old.key)).toBe('api_key_expired');
    expect(await code(issued.key)).toBe('ok');
  });

  it('lets both keys work during the overlap, then only the successor', async () => {
    const { manager, clock, store, code } = rotateSetup();
    const old = await manager.create(input);
    const { issued, previous } = await manager.rotate(old.record.id, { overlapMs: 60_000 });
    expect(previous.expiresAt).toEqual(new Date(T0 + 60_000));
    expect((await store.findById(old.record.id))!.expiresAt).toEqual(new Date(T0 + 60_000));
    expect(await code(old.key)).toBe('ok');
    expect(await code(issued.key)).toBe('ok');
    clock.set(T0 + 59_999);
    expect(await code(old.key)).toBe('ok');
    clock.set(T0 + 60_000);
    expect(await code(old.key)).toBe('api_key_expired');
    expect(await code(issued.key)).toBe('ok');
  });

  it('refuses to rotate a key inside its overlap again (api_key_already_rotated), naming its successor', async () => {
    const { manager, clock, store } = rotateSetup();
    const old = await manager.create({ ...input, expiresAt: T0 + 90 * 86_400_000 });
    const { issued } = await manager.rotate(old.record.id, { overlapMs: 3_600_000 });
    clock.advance(60_000);
    const error = await rejection(manager.rotate(old.record.id, { overlapMs: 3_600_000 }));
    expect(error).toBeInstanceOf(KeyManagementError);
    expect(error).toMatchObject({ code: 'api_key_already_rotated', status: 409 });
    expect((error as Error).message).toContain(issued.record.id);
    // Nothing was made: the workspace still has the two keys.
    const page = await store.list({ workspaceId: 'ws_1', now: new Date(clock.now()), limit: 10 });
    expect(page.items.map((k) => k.id).sort()).toEqual([old.record.id, issued.record.id].sort());
    // The successor rotates as any key, with the old key's whole lifetime.
    const next = await manager.rotate(issued.record.id);
    expect(next.issued.record.expiresAt).toEqual(new Date(clock.now() + 90 * 86_400_000));
  });

  it('finds a successor on a later page of the workspace: more than 1,000 newer keys', async () => {
    const { manager, clock } = rotateSetup();
    const old = await manager.create(input);
    clock.advance(1_000);
    await manager.rotate(old.record.id, { overlapMs: 3_600_000 });
    for (let i = 0; i < 1_000; i++) {
      clock.advance(1);
      await manager.create({ ...input, name: `newer-${i}` });
    }
    const error = await rejection(manager.rotate(old.record.id, { overlapMs: 3_600_000 }));
    expect(error).toMatchObject({ code: 'api_key_already_rotated' });
  });

  it('rotates the old key again once its successor is revoked', async () => {
    const { manager } = rotateSetup();
    const old = await manager.create(input);
    const { issued } = await manager.rotate(old.record.id, { overlapMs: 3_600_000 });
    await manager.revoke(issued.record.id);
    const again = await manager.rotate(old.record.id, { overlapMs: 3_600_000 });
    expect(again.issued.record.rotatedFromId).toBe(old.record.id);
  });

  it('gives the successor as long a life as the old key had', async () => {
    const { manager, clock } = rotateSetup();
    const old = await manager.create({ ...input, expiresAt: T0 + 90 * 86_400_000 });
    clock.advance(30 * 86_400_000);
    const { issued } = await manager.rotate(old.record.id);
    expect(issued.record.expiresAt).toEqual(new Date(T0 + 120 * 86_400_000));
  });

  it('takes an explicit successor expiry, and refuses one in the past', async () => {
    const { manager, clock } = rotateSetup();
    const old = await manager.create({ ...input, expiresAt: T0 + 86_400_000 });
    clock.advance(1000);
    const { issued } = await manager.rotate(old.record.id, { expiresAt: null });
    expect(issued.record.expiresAt).toBeNull();
    const third = await manager.rotate(issued.record.id, { expiresAt: T0 + 5000 });
    expect(third.issued.record.expiresAt).toEqual(new Date(T0 + 5000));
    const error = await rejection(manager.rotate(third.issued.record.id, { expiresAt: T0 }));
    expect(error.code).toBe('invalid_key_parameters');
  });

  it('never extends the old key: an overlap past its expiry keeps its expiry', async () => {
    const { manager } = rotateSetup();
    const old = await manager.create({ ...input, expiresAt: T0 + 10_000 });
    const { previous } = await manager.rotate(old.record.id, { overlapMs: 60_000 });
    expect(previous.expiresAt).toEqual(new Date(T0 + 10_000));
  });

  it('refuses to rotate a revoked or expired key with api_key_not_active (409)', async () => {
    const { manager, clock, store } = rotateSetup();
    const revoked = await manager.create(input);
    await manager.revoke(revoked.record.id);
    const expiring = await manager.create({ ...input, expiresAt: T0 + 1000 });
    clock.set(T0 + 1000);
    for (const id of [revoked.record.id, expiring.record.id]) {
      const error = await rejection(manager.rotate(id));
      expect(error.code).toBe('api_key_not_active');
      expect(error.status).toBe(409);
    }
    expect(await dump(store)).toHaveLength(2);
  });

  it('answers api_key_not_found for an unknown key or another workspace', async () => {
    const { manager, store } = rotateSetup();
    const old = await manager.create(input);
    expect((await rejection(manager.rotate('AAAAAAAAAAAA'))).code).toBe('api_key_not_found');
    const guarded = await rejection(manager.rotate(old.record.id, { workspaceId: 'ws_2' }));
    expect(guarded.code).toBe('api_key_not_found');
    expect(guarded.status).toBe(404);
    expect(await dump(store)).toHaveLength(1);
    const ok = await manager.rotate(old.record.id, { workspaceId: 'ws_1' });
    expect(ok.issued.record.rotatedFromId).toBe(old.record.id);
  });

  it.each<unknown>([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1000'])(
    'refuses an overlap of %j with invalid_key_parameters',
    async (overlapMs) => {
      const { manager, store } = rotateSetup();
      const old = await manager.create(input);
      const error = await rejection(
        manager.rotate(old.record.id, { overlapMs: overlapMs as number }),
      );
      expect(error.code).toBe('invalid_key_parameters');
      expect(await dump(store)).toHaveLength(1);
    },
  );

  it('takes the successor back when the old key cannot be updated', async () => {
    const { manager, store, code } = rotateSetup();
    const old = await manager.create(input);
    const failure = new Error('write failed');
    const update = vi.spyOn(store, 'update');
    update.mockImplementationOnce(async () => {
      throw failure;
    });
    await expect(manager.rotate(old.record.id)).rejects.toBe(failure);
    const records = await dump(store);
    const successor = records.find((r) => r.rotatedFromId === old.record.id)!;
    expect(successor.revokedAt).not.toBeNull();
    expect((await store.findById(old.record.id))!.expiresAt).toBeNull();
    expect(await code(old.key)).toBe('ok');
  });

  it('rethrows the original failure when taking the successor back fails too', async () => {
    const { manager, store } = rotateSetup();
    const old = await manager.create(input);
    const failure = new Error('write failed');
    const update = vi.spyOn(store, 'update').mockImplementation(async (id) => {
      throw id === old.record.id ? failure : new Error('second failure');
    });
    await expect(manager.rotate(old.record.id)).rejects.toBe(failure);
    expect(update).toHaveBeenCalledTimes(2);
    expect(update.mock.calls[1]![1]).toEqual({ revokedAt: new Date(T0) });
  });

  // Fails today: see the report. The catch above takes the successor back when the update
  // throws; when the update finds no key (it vanished meanwhile) rotate throws
  // api_key_not_found but leaves the successor active in the store, unreachable (its
  // plaintext was never returned) and listed as an active key of the workspace.
  it('takes the successor back when the old key vanished before its update', async () => {
    const { manager, store } = rotateSetup();
    const old = await manager.create(input);
    vi.spyOn(store, 'update').mockResolvedValueOnce(undefined);
    const error = await rejection(manager.rotate(old.record.id));
    expect(error.code).toBe('api_key_not_found');
    const successor = (await dump(store)).find((r) => r.rotatedFromId === old.record.id);
    expect(successor === undefined || successor.revokedAt !== null).toBe(true);
  });
});

describe('KeyManager.list', () => {
  it('pages newest first with cursors, and filters by workspace and status', async () => {
    const { manager, clock } = setup();
    const created: IssuedKey[] = [];
    for (let i = 0; i < 7; i++) {
      created.push(await manager.create({ ...input, workspaceId: i % 2 === 0 ? 'ws_1' : 'ws_2' }));
      clock.advance(1000);
    }
    await manager.revoke(created[4]!.record.id);

    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await manager.list({ workspaceId: 'ws_1', limit: 2, cursor });
      ids.push(...page.items.map((k) => k.id));
      for (const item of page.items) expect(item).not.toHaveProperty('hash');
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(2);
    expect(ids).toEqual([6, 4, 2, 0].map((i) => created[i]!.record.id));

    const active = await manager.list({ workspaceId: 'ws_1', status: 'active' });
    expect(active.items.map((k) => k.id)).toEqual([6, 2, 0].map((i) => created[i]!.record.id));
    expect(active).not.toHaveProperty('nextCursor');
    const revoked = await manager.list({ status: 'revoked' });
    expect(revoked.items).toEqual([
      { ...created[4]!.record, status: 'revoked', revokedAt: expect.any(Date) },
    ]);
    expect((await manager.list()).items).toHaveLength(7);
  });

  it('reports expired keys by the manager clock', async () => {
    const { manager, clock } = setup();
    const short = await manager.create({ ...input, expiresAt: T0 + 1000 });
    await manager.create(input);
    expect((await manager.list({ status: 'expired' })).items).toEqual([]);
    clock.set(T0 + 1000);
    const expired = await manager.list({ status: 'expired' });
    expect(expired.items.map((k) => [k.id, k.status])).toEqual([[short.record.id, 'expired']]);
  });

  it.each<[string, unknown]>([
    ['limit 0', { limit: 0 }],
    ['limit 1001', { limit: 1001 }],
    ['limit 1.5', { limit: 1.5 }],
    ['limit NaN', { limit: Number.NaN }],
    ['limit "10"', { limit: '10' }],
    ['status "deleted"', { status: 'deleted' }],
    ['a foreign cursor', { cursor: 'not-a-cursor' }],
  ])('refuses %s with invalid_key_parameters', async (_, query) => {
    const { manager } = setup();
    await manager.create(input);
    const error = await rejection(manager.list(query as never));
    expect(error.code).toBe('invalid_key_parameters');
    expect(error.status).toBe(400);
  });

  it('accepts the limits 1 and 1000', async () => {
    const { manager } = setup();
    await manager.create(input);
    await manager.create(input);
    expect((await manager.list({ limit: 1 })).items).toHaveLength(1);
    expect((await manager.list({ limit: 1000 })).items).toHaveLength(2);
  });
});

describe('peppers', () => {
  it('a peppered manager and a peppered authenticator interoperate', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store, hashing: { pepper } });
    const issued = await manager.create(input);
    expect((await store.findById(issued.record.id))!.hash).toMatch(/^hmac-sha256\$p1\$/);
    const auth = createAuthenticator({ store, hashing: { pepper }, lastUsed: false });
    const result = await auth.authenticate(bearer(issued.key));
    expect(result.ok && result.key.keyId).toBe(issued.record.id);
  });

  it('an authenticator without the pepper answers auth_unavailable for those keys', async () => {
    const store = new MemoryKeyStore();
    const issued = await createKeyManager({ store, hashing: { pepper } }).create(input);
    const onError = vi.fn();
    const auth = createAuthenticator({ store, lastUsed: false, hooks: { onError } });
    const result = await auth.authenticate(bearer(issued.key));
    expect(result.ok === false && result.error.code).toBe('auth_unavailable');
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toMatchObject({ code: 'ERR_ORKESTA_AUTH_STORED_RECORD' });
  });

  it('keys issued before a pepper rotation keep working with previousPeppers', async () => {
    const store = new MemoryKeyStore();
    const before = await createKeyManager({ store, hashing: { pepper } }).create(input);
    const next = { id: 'p2', secret: 'another-long-enough-pepper' };
    const hashing = { pepper: next, previousPeppers: [pepper] };
    const after = await createKeyManager({ store, hashing }).create(input);
    expect((await store.findById(after.record.id))!.hash).toMatch(/^hmac-sha256\$p2\$/);
    const auth = createAuthenticator({ store, hashing, lastUsed: false });
    expect((await auth.authenticate(bearer(before.key))).ok).toBe(true);
    expect((await auth.authenticate(bearer(after.key))).ok).toBe(true);
  });
});

describe('KeyManager configuration', () => {
  const store = new MemoryKeyStore();
  it.each<[string, unknown]>([
    ['no options', undefined],
    ['null options', null],
    ['no store', {}],
    ['a store without insert', { store: { findById() {}, list() {}, update() {} } }],
    ['a lookup-only store', { store: { findById() {} } }],
    ['a null store', { store: null }],
    ['an unknown environment', { store, environment: 'prod' }],
    ['a change feed without publish', { store, changeFeed: { subscribe() {} } }],
    ['a null change feed', { store, changeFeed: null }],
    ['a bad pepper', { store, hashing: { pepper: { id: 'p', secret: 'short' } } }],
    ['null hashing', { store, hashing: null }],
    ['now not a function', { store, now: 5 }],
    ['null now', { store, now: null }],
    ['a zero publishTimeoutMs', { store, publishTimeoutMs: 0 }],
    ['a publishTimeoutMs that is not a number', { store, publishTimeoutMs: '1s' }],
  ])('refuses %s with a ConfigurationError', (_, options) => {
    expect(() => createKeyManager(options as KeyManagerOptions)).toThrow(ConfigurationError);
  });

  it('works with any store that has the four methods', async () => {
    const inner = new MemoryKeyStore();
    const store: KeyStore = {
      findById: (id) => inner.findById(id),
      insert: (r) => inner.insert(r),
      list: (q) => inner.list(q),
      update: (id, c) => inner.update(id, c),
      recordLastUsed: (b) => inner.recordLastUsed(b),
    };
    const issued = await createKeyManager({ store }).create(input);
    expect(await inner.findById(issued.record.id)).toBeDefined();
  });
});

describe('KeyManager inputs are strict: a field a call does not know is refused, not ignored', () => {
  it.each<[string, (manager: ReturnType<typeof setup>['manager'], id: string) => Promise<unknown>]>(
    [
      [
        'rotate with overlap for overlapMs, which would end the old key at once',
        (m, id) => m.rotate(id, { overlap: 86_400_000 } as never),
      ],
      [
        'revoke with a guard of workspace for workspaceId',
        (m, id) => m.revoke(id, { workspace: 'ws_other' } as never),
      ],
      [
        'get with a guard of workspace for workspaceId',
        (m, id) => m.get(id, { workspace: 'ws_other' } as never),
      ],
      [
        'setRateLimit with a misspelt guard',
        (m, id) => m.setRateLimit(id, null, { workspaceID: 'ws_other' } as never),
      ],
      ['list with workspace for workspaceId', (m) => m.list({ workspace: 'ws_1' } as never)],
      ['list with a guard that is not an object', (m) => m.list(5 as never)],
    ],
  )('%s', async (_, call) => {
    const { manager, store } = setup();
    const { record } = await manager.create(input);
    const error = await rejection(call(manager, record.id));
    expect(error.code).toBe('invalid_key_parameters');
    // Nothing changed: the old key is still active, unrotated, unrevoked.
    expect(await store.findById(record.id)).toMatchObject({ revokedAt: null, expiresAt: null });
  });

  it('refuses an unknown option of the manager itself, naming the closest', () => {
    expect(() =>
      createKeyManager({ store: new MemoryKeyStore(), enviroment: 'test' } as never),
    ).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_CONFIG', suggestion: 'environment' }),
    );
  });
});

describe('publishing a change the feed does not take', () => {
  const silentFeed: KeyChangeFeed = {
    publish: () => new Promise<void>(() => {}), // Redis down, its client queueing offline
    subscribe: () => () => {},
  };

  it('gives up after publishTimeoutMs: the call returns with the change saved, onError is told', async () => {
    const store = new MemoryKeyStore();
    const onError = vi.fn();
    const manager = createKeyManager({
      store,
      changeFeed: silentFeed,
      publishTimeoutMs: 20,
      onError,
    });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const id = issued.record.id;
    expect(await store.findById(id)).toMatchObject({ id });
    expect(onError).toHaveBeenCalledTimes(1);
    const [error, context] = onError.mock.calls[0]!;
    expect(error).toBeInstanceOf(ChangeFeedTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_ORKESTA_AUTH_FEED_TIMEOUT' });
    expect(context).toEqual({ operation: 'publish', keyIds: [id] });

    await manager.revoke(id);
    expect((await store.findById(id))?.revokedAt).toBeInstanceOf(Date);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[1]![1]).toEqual({ operation: 'publish', keyIds: [id] });
  });

  it('without onError, a failed publish is a process warning that names the key, never its secret', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({
      store,
      changeFeed: {
        publish: () => Promise.reject(new Error('connection refused')),
        subscribe: () => () => {},
      },
    });
    const warned = once(process, 'warning');
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const [warning] = (await warned) as [Error];
    expect(warning.name).toBe('OrkestaAuthWarning');
    expect(warning.message).toContain(issued.record.id);
    expect(warning.message).toContain('connection refused');
    expect(warning.message).not.toContain(issued.key);
    // A rotation names both keys.
    const again = once(process, 'warning');
    const { issued: successor } = await manager.rotate(issued.record.id);
    const [second] = (await again) as [Error];
    expect(second.message).toContain(`${issued.record.id}, ${successor.record.id}`);
    expect(second.message).not.toContain(successor.key);
  });
});
