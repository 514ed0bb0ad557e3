import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthHooks,
  type AuthResult,
  ConfigurationError,
  combineHooks,
  createAuthenticator,
  createKeyManager,
  generateApiKey,
  type KeyLookup,
  type LookupEvent,
  MemoryKeyStore,
  type StoredKey,
} from '../src/index.js';
import { bearer, deferred, fakeClock, wrongSecret } from './helpers.js';

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

/** A monotonic clock standing in for `performance.now()`, moved by the stores below. */
let monotonic = 0;
beforeEach(() => {
  monotonic = 1_000;
  vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A memory store with one issued key, and a lookup over it that takes `ms` (monotonic). */
async function issued(ms = 12.5) {
  const clock = fakeClock();
  const store = new MemoryKeyStore();
  const { key, record } = await createKeyManager({ store, now: clock.now }).create({
    workspaceId: 'ws_1',
    name: 'erp',
    scope: 'read-write',
  });
  const lookup: KeyLookup = {
    async findById(id) {
      monotonic += ms;
      return store.findById(id);
    },
  };
  return { clock, store, lookup, key, id: record.id };
}

describe('onLookup: one event per store call, with its duration and result', () => {
  it('a key found: its id, the store time on the monotonic clock, found; a cache hit adds none', async () => {
    const { clock, lookup, key, id } = await issued(12.5);
    const onLookup = vi.fn();
    const auth = createAuthenticator({ store: lookup, now: clock.now, hooks: { onLookup } });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(onLookup.mock.calls).toEqual([[{ keyId: id, durationMs: 12.5, result: 'found' }]]);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(bearer(wrongSecret(key))))).toBe('invalid_api_key');
    expect(onLookup).toHaveBeenCalledTimes(1);
  });

  it('without a cache, every request is a store call and an event', async () => {
    const { clock, lookup, key, id } = await issued(3);
    const events: LookupEvent[] = [];
    const auth = createAuthenticator({
      store: lookup,
      now: clock.now,
      cache: false,
      hooks: { onLookup: (event) => events.push(event) },
    });
    await auth.authenticate(bearer(key));
    await auth.authenticate(bearer(key));
    expect(events).toEqual([
      { keyId: id, durationMs: 3, result: 'found' },
      { keyId: id, durationMs: 3, result: 'found' },
    ]);
  });

  it('an unknown id: not_found, and the negative cache asks no more', async () => {
    const { clock, lookup } = await issued(4);
    const { token: key, id } = generateApiKey();
    const onLookup = vi.fn();
    const auth = createAuthenticator({ store: lookup, now: clock.now, hooks: { onLookup } });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('invalid_api_key');
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('invalid_api_key');
    expect(onLookup.mock.calls).toEqual([[{ keyId: id, durationMs: 4, result: 'not_found' }]]);
  });

  it('a failing store: error, before onError and onRejected', async () => {
    const { clock, key, id } = await issued();
    const order: unknown[] = [];
    const auth = createAuthenticator({
      store: {
        async findById() {
          monotonic += 7;
          throw new Error('connection refused');
        },
      },
      now: clock.now,
      hooks: {
        onLookup: (event) => order.push(event),
        onError: (_error, context) => order.push(context),
        onRejected: (event) => order.push(event.code),
      },
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    expect(order).toEqual([
      { keyId: id, durationMs: 7, result: 'error' },
      { operation: 'lookup', keyId: id },
      'auth_unavailable',
    ]);
  });

  it('a store that does not answer in time: timeout, timed up to the timeout', async () => {
    const { clock, key, id } = await issued();
    const onLookup = vi.fn();
    const auth = createAuthenticator({
      store: {
        findById() {
          monotonic += 5;
          return new Promise<StoredKey | null>(() => {});
        },
      },
      now: clock.now,
      storeTimeoutMs: 5,
      hooks: { onLookup },
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    expect(onLookup.mock.calls).toEqual([[{ keyId: id, durationMs: 5, result: 'timeout' }]]);
  });

  it('a record that makes no sense: error, though the store answered', async () => {
    const { clock, store, key, id } = await issued();
    const record = (await store.findById(id))!;
    const onLookup = vi.fn();
    const auth = createAuthenticator({
      store: {
        async findById() {
          monotonic += 2;
          return { ...record, scope: 'superuser' } as unknown as StoredKey;
        },
      },
      now: clock.now,
      hooks: { onLookup, onError() {} },
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    expect(onLookup.mock.calls).toEqual([[{ keyId: id, durationMs: 2, result: 'error' }]]);
  });

  it('concurrent requests for one id share one store call, so one event', async () => {
    const { clock, store, key, id } = await issued();
    const answer = deferred<StoredKey | null>();
    const onLookup = vi.fn();
    const auth = createAuthenticator({
      store: { findById: () => answer.promise },
      now: clock.now,
      hooks: { onLookup },
    });
    const pending = [1, 2, 3].map(() => auth.authenticate(bearer(key)));
    monotonic += 9;
    answer.resolve((await store.findById(id)) ?? null);
    expect((await Promise.all(pending)).map(codeOf)).toEqual(['ok', 'ok', 'ok']);
    expect(onLookup.mock.calls).toEqual([[{ keyId: id, durationMs: 9, result: 'found' }]]);
  });

  it('a throwing onLookup reaches onError as a hook failure; the request is answered', async () => {
    const { clock, lookup, key } = await issued();
    const failure = new Error('metrics down');
    const onError = vi.fn();
    const auth = createAuthenticator({
      store: lookup,
      now: clock.now,
      hooks: {
        onLookup() {
          throw failure;
        },
        onError,
      },
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(onError.mock.calls).toEqual([[failure, { operation: 'hook' }]]);
  });

  it('refuses an onLookup that is not a function, and a misspelt one', () => {
    const store = new MemoryKeyStore();
    expect(() => createAuthenticator({ store, hooks: { onLookup: 1 } as never })).toThrow(
      ConfigurationError,
    );
    expect(() => createAuthenticator({ store, hooks: { onLookUp() {} } as never })).toThrow(
      expect.objectContaining({ option: 'hooks.onLookUp', suggestion: 'hooks.onLookup' }),
    );
  });
});

describe('combineHooks', () => {
  const event = { keyId: 'AAAAAAAAAAAA', durationMs: 1, result: 'found' } as const;

  it('calls each part in turn, with the event, and with the part as this', () => {
    const calls: [string, unknown, unknown][] = [];
    const first = {
      onLookup(this: unknown, e: LookupEvent) {
        calls.push(['first', this, e]);
      },
    };
    const second = {
      onLookup(this: unknown, e: LookupEvent) {
        calls.push(['second', this, e]);
      },
    };
    combineHooks(first, second).onLookup!(event);
    expect(calls).toEqual([
      ['first', first, event],
      ['second', second, event],
    ]);
  });

  it('has exactly the hooks its parts have, and skips undefined parts', () => {
    const noop = () => {};
    expect(Object.keys(combineHooks())).toEqual([]);
    expect(Object.keys(combineHooks(undefined, {}))).toEqual([]);
    expect(Object.keys(combineHooks({ onRejected: noop }, undefined, { onLookup: noop }))).toEqual([
      'onRejected',
      'onLookup',
    ]);
    expect(
      Object.keys(
        combineHooks(
          { onError: noop, onAuthenticated: noop },
          { onInsecureKey: noop, onRejected: noop },
        ),
      ),
    ).toEqual(['onError', 'onAuthenticated', 'onRejected', 'onInsecureKey']);
  });

  it('every hook of every kind reaches every part', () => {
    const seen: string[] = [];
    const part = (name: string): AuthHooks => ({
      onAuthenticated: () => seen.push(`${name} authenticated`),
      onRejected: () => seen.push(`${name} rejected`),
      onInsecureKey: () => seen.push(`${name} insecure`),
      onLookup: () => seen.push(`${name} lookup`),
      onError: (_error, context) => seen.push(`${name} error ${context.operation}`),
    });
    const combined = combineHooks(part('a'), part('b'));
    combined.onAuthenticated!({} as never);
    combined.onRejected!({} as never);
    combined.onInsecureKey!({} as never);
    combined.onLookup!(event);
    combined.onError!(new Error('x'), { operation: 'lookup' });
    expect(seen).toEqual([
      'a authenticated',
      'b authenticated',
      'a rejected',
      'b rejected',
      'a insecure',
      'b insecure',
      'a lookup',
      'b lookup',
      'a error lookup',
      'b error lookup',
    ]);
  });

  it('a throwing part stops none of the others; its error goes to every onError as a hook failure', () => {
    const failure = new Error('audit log down');
    const reported: unknown[] = [];
    const after = vi.fn();
    const combined = combineHooks(
      {
        onLookup() {
          throw failure;
        },
        onError() {
          throw new Error('this onError fails too');
        },
      },
      { onLookup: after, onError: (error, context) => reported.push([error, context]) },
    );
    expect(() => combined.onLookup!(event)).not.toThrow();
    expect(after).toHaveBeenCalledWith(event);
    expect(reported).toEqual([[failure, { operation: 'hook' }]]);
  });

  it('a throwing part with no onError anywhere is dropped, as the authenticator drops it', () => {
    const after = vi.fn();
    const combined = combineHooks(
      {
        onRejected() {
          throw new Error('x');
        },
      },
      { onRejected: after },
    );
    expect(() => combined.onRejected!({} as never)).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('checks each part as createAuthenticator checks its hooks', () => {
    expect(() => combineHooks({ onAuthenticate() {} } as never)).toThrow(
      expect.objectContaining({
        option: 'hooks.onAuthenticate',
        suggestion: 'hooks.onAuthenticated',
      }),
    );
    expect(() => combineHooks({}, null as never)).toThrow(ConfigurationError);
    expect(() => combineHooks((() => {}) as never)).toThrow(ConfigurationError);
    expect(() => combineHooks({ onError: 'log' } as never)).toThrow(ConfigurationError);
  });

  it('takes a class instance: its methods, with itself as this', () => {
    class Audit {
      readonly lines: string[] = [];
      onLookup(e: LookupEvent) {
        this.lines.push(e.result);
      }
    }
    const audit = new Audit();
    combineHooks(audit).onLookup!(event);
    expect(audit.lines).toEqual(['found']);
  });

  it('in an authenticator: both parts hear every event, a throw in one reaches onError once', async () => {
    const { clock, lookup, key, id } = await issued();
    const failure = new Error('telemetry down');
    const seen: string[] = [];
    const onError = vi.fn();
    const auth = createAuthenticator({
      store: lookup,
      now: clock.now,
      hooks: combineHooks(
        {
          onAuthenticated() {
            throw failure;
          },
          onLookup: (e) => seen.push(`telemetry lookup ${e.keyId}`),
        },
        {
          onAuthenticated: (e) => seen.push(`audit in ${e.key.keyId}`),
          onRejected: (e) => seen.push(`audit out ${e.code}`),
          onError,
        },
      ),
    });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(bearer(key, { requiredScope: 'admin' })))).toBe(
      'insufficient_scope',
    );
    expect(seen).toEqual([
      `telemetry lookup ${id}`,
      `audit in ${id}`,
      `audit in ${id}`,
      'audit out insufficient_scope',
    ]);
    expect(onError.mock.calls).toEqual([
      [failure, { operation: 'hook' }],
      [failure, { operation: 'hook' }],
    ]);
  });
});
