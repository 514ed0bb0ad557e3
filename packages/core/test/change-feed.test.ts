import { describe, expect, it } from 'vitest';
import { checkAccess } from '../src/adapter.js';
import {
  type AuthResult,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  type KeyLookup,
  KeyManagementError,
  MemoryKeyStore,
} from '../src/index.js';
import { bearer, countingLookup, fakeClock, withChecksum } from './helpers.js';

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

describe("the store's own change feed", () => {
  it('carries a revocation from the manager to the authenticator with no feed wired by hand', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store });
    const auth = createAuthenticator({ store });
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    await manager.revoke(record.id);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('api_key_revoked');

    const rotated = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    expect(codeOf(await auth.authenticate(bearer(rotated.key)))).toBe('ok');
    await manager.rotate(rotated.record.id);
    expect(codeOf(await auth.authenticate(bearer(rotated.key)))).toBe('api_key_expired');
  });

  it('the key manager still returns the new key when the feed fails, and reports it', async () => {
    const store = new MemoryKeyStore();
    const reported: { error: unknown; keyIds: readonly string[] }[] = [];
    const manager = createKeyManager({
      store,
      changeFeed: {
        publish: () => Promise.reject(new Error('feed down')),
        subscribe: () => () => {},
      },
      onError: (error, context) => reported.push({ error, keyIds: context.keyIds }),
    });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    expect(issued.key).toMatch(/^ork_live_/);
    const rotated = await manager.rotate(issued.record.id);
    expect(rotated.issued.key).toMatch(/^ork_live_/);
    expect(reported.map((r) => r.keyIds)).toEqual([
      [issued.record.id],
      [issued.record.id, rotated.issued.record.id],
    ]);
    expect(() => createKeyManager({ store, onError: 'log' as never })).toThrow(ConfigurationError);
  });
});

describe('what a refused token does not touch', () => {
  it('a bad checksum naming a cached id does not keep that entry fresh in the LRU', async () => {
    const clock = fakeClock();
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store, now: clock.now });
    const { lookup, calls } = countingLookup(store);
    const auth = createAuthenticator({ store: lookup, now: clock.now, cache: { max: 2 } });
    const issue = async () =>
      (await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' })).key;
    const [a, b, c] = [await issue(), await issue(), await issue()];
    await auth.authenticate(bearer(a));
    await auth.authenticate(bearer(b));
    // Junk under a's id: refused by its checksum; must not count as a use of a's entry.
    const junk = `${a.slice(0, 54)}${a.slice(54) === '000000' ? '000001' : '000000'}`;
    for (let i = 0; i < 3; i++)
      expect(codeOf(await auth.authenticate(bearer(junk)))).toBe('invalid_api_key');
    await auth.authenticate(bearer(c)); // evicts the least recently used: a, not b
    calls.length = 0;
    await auth.authenticate(bearer(b));
    expect(calls).toEqual([]);
    await auth.authenticate(bearer(a));
    expect(calls).toEqual([a.slice(9, 21)]);
    expect(withChecksum(junk.slice(0, 54))).toBe(a);
  });
});

describe('checks of options and requirements', () => {
  it('lastUsed must be an object or false', () => {
    const store = new MemoryKeyStore();
    for (const lastUsed of [null, true, 'yes', 5]) {
      expect(() => createAuthenticator({ store, lastUsed: lastUsed as never })).toThrow(
        ConfigurationError,
      );
    }
    const bare: KeyLookup = { findById: () => undefined };
    expect(() => createAuthenticator({ store: bare, lastUsed: {} })).toThrow(ConfigurationError);
  });

  it('rotation refuses an overlap past a year and a day, and writes nothing', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store });
    const { record } = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const tooLong = 367 * 24 * 3600 * 1000;
    await expect(manager.rotate(record.id, { overlapMs: tooLong })).rejects.toMatchObject({
      code: 'invalid_key_parameters',
    });
    await expect(manager.rotate(record.id, { overlapMs: 9e15 })).rejects.toBeInstanceOf(
      KeyManagementError,
    );
    expect((await manager.list()).items).toHaveLength(1);
    expect((await manager.get(record.id))?.expiresAt).toBeNull();
  });

  it('checkAccess: no key is missing_api_key, then workspace, then scope', () => {
    const key = {
      keyId: 'k',
      workspaceId: 'ws_1',
      scope: 'read-only',
      environment: 'live',
      expiresAt: null,
    } as const;
    expect(checkAccess(undefined, {})?.code).toBe('missing_api_key');
    expect(checkAccess(key, { workspaceId: 'ws_2', scope: 'admin' })?.code).toBe(
      'workspace_mismatch',
    );
    expect(checkAccess(key, { scope: 'read-write' })?.code).toBe('insufficient_scope');
    expect(checkAccess(key, { workspaceId: 'ws_1', scope: 'read-only' })).toBeUndefined();
  });
});

describe('a feed that reports a gap', () => {
  it('onReset makes the authenticator forget every cached key and every unknown id', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({
      store,
      changeFeed: { publish: () => {}, subscribe: () => () => {} },
    });
    let reset: (() => void) | undefined;
    const { lookup, calls } = countingLookup(store);
    const auth = createAuthenticator({
      store: lookup,
      changeFeed: {
        publish: () => {},
        subscribe: (_listener, onReset) => {
          reset = onReset;
          return () => {};
        },
      },
    });
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const unknown = withChecksum(`ork_live_${'Z'.repeat(12)}_${'a'.repeat(32)}`);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(bearer(unknown)))).toBe('invalid_api_key');
    // Revoked behind the feed's back (no publish): the cache still admits it.
    await store.update(record.id, { revokedAt: new Date() });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toHaveLength(2);
    reset?.();
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('api_key_revoked');
    expect(codeOf(await auth.authenticate(bearer(unknown)))).toBe('invalid_api_key');
    expect(calls).toHaveLength(4);
    await auth.close();
  });
});
