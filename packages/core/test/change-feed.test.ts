import { describe, expect, it } from 'vitest';
import { checkAccess } from '../src/adapter.js';
import {
  type AuthResult,
  ConfigurationError,
  combineChangeFeeds,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  type KeyChangeFeed,
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

describe('a feed that loses its connection', () => {
  /** A feed the test cuts off (`interrupt`) and brings back (`reset`) by hand. */
  async function outage(cache?: { ttlMs?: number; feedOutageTtlMs?: number }) {
    const clock = fakeClock();
    const store = new MemoryKeyStore();
    const manager = createKeyManager({
      store,
      now: clock.now,
      changeFeed: { publish: () => {}, subscribe: () => () => {} },
    });
    const feed: { reset?: (() => void) | undefined; interrupt?: (() => void) | undefined } = {};
    const changeFeed: KeyChangeFeed = {
      publish: () => {},
      subscribe: (_listener, onReset, onInterrupt) => {
        feed.reset = onReset;
        feed.interrupt = onInterrupt;
        return () => {};
      },
    };
    const { lookup, calls } = countingLookup(store);
    const auth = createAuthenticator({
      store: lookup,
      now: clock.now,
      changeFeed,
      lastUsed: false,
      ...(cache === undefined ? {} : { cache }),
    });
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    // Revoked where this instance's feed cannot hear it.
    const revokeBehindTheFeed = () => store.update(record.id, { revokedAt: new Date(clock.now()) });
    const code = async () => codeOf(await auth.authenticate(bearer(key)));
    return { clock, feed, auth, calls, code, revokeBehindTheFeed };
  }

  it('trusts a key cached before the outage for 1 s from its start, then asks the store', async () => {
    const { clock, feed, calls, code, revokeBehindTheFeed } = await outage();
    expect(await code()).toBe('ok');
    clock.advance(5_000);
    feed.interrupt!();
    await revokeBehindTheFeed();
    clock.advance(999);
    expect(await code()).toBe('ok'); // the remembered token, still trusted
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(await code()).toBe('api_key_revoked');
    expect(calls).toHaveLength(2);
  });

  it('trusts a key looked up during the outage for 1 s from its lookup', async () => {
    const { clock, feed, calls, code } = await outage();
    feed.interrupt!();
    clock.advance(10_000);
    expect(await code()).toBe('ok');
    clock.advance(999);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
  });

  it('once the feed is back, drops every entry and trusts the next lookup for the whole TTL', async () => {
    const { clock, feed, calls, code } = await outage();
    expect(await code()).toBe('ok');
    feed.interrupt!();
    feed.interrupt!(); // a second drop before reconnecting keeps the first outage's start
    clock.advance(500);
    feed.reset!();
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
    clock.advance(29_999);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
  });

  it('keeps the first outage start when the feed reports the drop again', async () => {
    const { clock, feed, calls, code } = await outage();
    expect(await code()).toBe('ok');
    feed.interrupt!();
    clock.advance(600);
    feed.interrupt!();
    clock.advance(400);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
  });

  it('takes feedOutageTtlMs as the bound', async () => {
    const { clock, feed, calls, code } = await outage({ feedOutageTtlMs: 200 });
    expect(await code()).toBe('ok');
    feed.interrupt!();
    clock.advance(199);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
  });

  it.each([
    [{ ttlMs: 500, feedOutageTtlMs: 501 }],
    [{ feedOutageTtlMs: 0 }],
    [{ feedOutageTtlMs: '1s' }],
  ])('refuses cache %j at creation', (cache) => {
    expect(() =>
      createAuthenticator({ store: new MemoryKeyStore(), cache: cache as never }),
    ).toThrow(ConfigurationError);
  });

  it('defaults the bound to ttlMs when ttlMs is under 1 s', async () => {
    const { clock, feed, calls, code } = await outage({ ttlMs: 300 });
    expect(await code()).toBe('ok');
    feed.interrupt!();
    clock.advance(299);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(await code()).toBe('ok');
    expect(calls).toHaveLength(2);
  });
});

describe('combineChangeFeeds', () => {
  /** A feed whose subscribers' handlers the test calls by hand. */
  function manual() {
    const published: (readonly string[])[] = [];
    const handlers: {
      listener?: (ids: readonly string[]) => void;
      reset?: (() => void) | undefined;
      interrupt?: (() => void) | undefined;
    } = {};
    let subscribed = 0;
    const feed: KeyChangeFeed = {
      publish: (ids) => {
        published.push(ids);
      },
      subscribe: (listener, onReset, onInterrupt) => {
        subscribed++;
        Object.assign(handlers, { listener, reset: onReset, interrupt: onInterrupt });
        return () => {
          subscribed--;
        };
      },
    };
    return { feed, published, handlers, subscribed: () => subscribed };
  }

  it('publishes to every feed, and a subscriber hears the changes of each', async () => {
    const [a, b] = [manual(), manual()];
    const both = combineChangeFeeds([a.feed, b.feed]);
    const heard: (readonly string[])[] = [];
    const stop = both.subscribe((ids) => heard.push(ids));
    await both.publish(['AAAAAAAAAAAA']);
    expect(a.published).toEqual([['AAAAAAAAAAAA']]);
    expect(b.published).toEqual([['AAAAAAAAAAAA']]);
    a.handlers.listener!(['BBBBBBBBBBBB']);
    b.handlers.listener!(['CCCCCCCCCCCC']);
    expect(heard).toEqual([['BBBBBBBBBBBB'], ['CCCCCCCCCCCC']]);
    expect([a.subscribed(), b.subscribed()]).toEqual([1, 1]);
    stop();
    expect([a.subscribed(), b.subscribed()]).toEqual([0, 0]);
  });

  it('tries every feed and rejects with the first failure', async () => {
    const b = manual();
    const down = new Error('redis down');
    const both = combineChangeFeeds([
      { publish: () => Promise.reject(down), subscribe: () => () => {} },
      b.feed,
    ]);
    await expect(both.publish(['AAAAAAAAAAAA'])).rejects.toBe(down);
    expect(b.published).toEqual([['AAAAAAAAAAAA']]);
  });

  it('is interrupted while any feed is, and resets whenever one does', () => {
    const [a, b] = [manual(), manual()];
    const events: string[] = [];
    combineChangeFeeds([a.feed, b.feed]).subscribe(
      () => {},
      () => events.push('reset'),
      () => events.push('interrupt'),
    );
    a.handlers.interrupt!();
    b.handlers.interrupt!();
    a.handlers.reset!(); // b is still down: reset, then short trust again
    expect(events).toEqual(['interrupt', 'interrupt', 'reset', 'interrupt']);
    b.handlers.reset!();
    expect(events.slice(4)).toEqual(['reset']);
  });

  it('keeps an authenticator on short trust until every feed is back', async () => {
    const clock = fakeClock();
    const store = new MemoryKeyStore();
    const [a, b] = [manual(), manual()];
    const { lookup, calls } = countingLookup(store);
    const auth = createAuthenticator({
      store: lookup,
      now: clock.now,
      lastUsed: false,
      changeFeed: combineChangeFeeds([a.feed, b.feed]),
    });
    const manager = createKeyManager({
      store,
      now: clock.now,
      changeFeed: createLocalChangeFeed(),
    });
    const { key } = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    a.handlers.interrupt!();
    b.handlers.interrupt!();
    a.handlers.reset!(); // the cache is emptied, but b is still cut off
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toHaveLength(2);
    clock.advance(999);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toHaveLength(2);
    clock.advance(1);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toHaveLength(3);
    b.handlers.reset!(); // both back: the whole TTL again
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    clock.advance(29_999);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toHaveLength(4);
  });

  it('a feed that refuses the subscription leaves none of the others subscribed', () => {
    const a = manual();
    const refusing: KeyChangeFeed = {
      publish: () => {},
      subscribe: () => {
        throw new Error('closed');
      },
    };
    expect(() => combineChangeFeeds([a.feed, refusing]).subscribe(() => {})).toThrow('closed');
    expect(a.subscribed()).toBe(0);
  });

  it('a subscriber without onReset or onInterrupt is fine when the feeds drop and come back', () => {
    const [a, b] = [manual(), manual()];
    const heard: (readonly string[])[] = [];
    combineChangeFeeds([a.feed, b.feed]).subscribe((ids) => heard.push(ids));
    a.handlers.interrupt!();
    b.handlers.interrupt!();
    expect(() => a.handlers.reset!()).not.toThrow();
    expect(() => b.handlers.reset!()).not.toThrow();
    b.handlers.listener!(['AAAAAAAAAAAA']);
    expect(heard).toEqual([['AAAAAAAAAAAA']]);
  });

  it.each([
    [[]],
    [null],
    [[{ publish() {} }]],
    [[{ subscribe: () => () => {} }]],
    [[null]],
    [['a feed']],
  ])('refuses %j', (feeds) => {
    expect(() => combineChangeFeeds(feeds as never)).toThrow(ConfigurationError);
  });
});
