import { setImmediate as settled } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import {
  type AuthenticatorOptions,
  type AuthRequest,
  type AuthResult,
  createAuthenticator,
  createKeyManager,
  generateApiKey,
  type InsecureKeyEvent,
  MemoryKeyStore,
} from '../src/index.js';
import { countingLookup, fakeClock, withChecksum, wrongSecret } from './helpers.js';
import { signedSetup } from './signed-helpers.js';

const ORIGIN: { readonly ip: string; readonly path: string } = {
  ip: '198.51.100.7',
  path: '/v1/payments',
};

async function setup(options: Partial<AuthenticatorOptions> = {}) {
  const clock = fakeClock();
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store, now: clock.now });
  const { lookup, calls } = countingLookup(store);
  const insecure: InsecureKeyEvent[] = [];
  const errors: unknown[][] = [];
  const auth = createAuthenticator({
    store: lookup,
    now: clock.now,
    changeFeed: store.changes,
    hooks: {
      onInsecureKey: (event) => insecure.push(event),
      onError: (error, context) => errors.push([error, context]),
    },
    ...options,
  });
  const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
  return { auth, store, manager, calls, insecure, errors, key: issued.key, id: issued.record.id };
}

/** A request over plain HTTP carrying `authorization`, which counts how often it is read. */
function plain(authorization: string | undefined, origin = ORIGIN) {
  const reads = { authorization: 0 };
  const request: AuthRequest = {
    get authorization() {
      reads.authorization++;
      return authorization;
    },
    secure: false,
    ...origin,
  };
  return { request, reads };
}

function expectHttpsRequired(result: AuthResult): void {
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.error.code).toBe('https_required');
    expect(result.error.status).toBe(403);
    expect(result.error.keyId).toBeUndefined();
  }
}

describe('plain HTTP while HTTPS is required', () => {
  it('is refused before the Authorization header is read, and the store is not asked', async () => {
    const { auth, calls, key } = await setup({ hooks: {} });
    for (const authorization of [`Bearer ${key}`, 'Bearer nonsense', undefined]) {
      const { request, reads } = plain(authorization);
      expectHttpsRequired(await auth.authenticate(request));
      expect(reads.authorization).toBe(0);
    }
    expect(calls).toEqual([]);
  });

  it('reports a valid key to onInsecureKey, by id and origin only; the answer is still 403', async () => {
    const { auth, calls, insecure, key, id } = await setup();
    const { request } = plain(`Bearer ${key}`);
    expectHttpsRequired(await auth.authenticate(request));
    await settled();
    expect(insecure).toEqual([{ keyId: id, ...ORIGIN }]);
    expect(calls).toEqual([id]);
    expect(JSON.stringify(insecure)).not.toContain(key.slice(22, 54));
  });

  it('reports a key whose lookup is cached at once, without asking the store again', async () => {
    const { auth, calls, insecure, key, id } = await setup();
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, secure: true })).ok).toBe(
      true,
    );
    const result = auth.authenticateMaybeSync(plain(`Bearer ${key}`).request);
    expect(result).not.toBeInstanceOf(Promise);
    expectHttpsRequired(result as AuthResult);
    expect(insecure).toEqual([{ keyId: id, ...ORIGIN }]);
    expect(calls).toEqual([id]);
  });

  it('reports a valid key of an environment this authenticator does not accept: it leaked all the same', async () => {
    const { auth, manager, insecure } = await setup({ environments: ['live'] });
    const testKey = await manager.create({
      workspaceId: 'ws_1',
      name: 'ci',
      scope: 'read-only',
      environment: 'test',
    });
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${testKey.key}`).request));
    await settled();
    expect(insecure.map((e) => e.keyId)).toEqual([testKey.record.id]);
  });

  it('does not report a known id with a wrong secret: knowing an id is not enough', async () => {
    const { auth, calls, insecure, key, id } = await setup();
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${wrongSecret(key)}`).request));
    await settled();
    expect(insecure).toEqual([]);
    expect(calls).toEqual([id]);
  });

  it('does not report an unknown id, and never looks up a token that is not a well-formed key', async () => {
    const { auth, calls, insecure, key } = await setup();
    const unknown = generateApiKey();
    const badChecksum = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    for (const authorization of [
      `Bearer ${unknown.token}`,
      `Bearer ${badChecksum}`,
      `Token ${key}`,
      `Bearer ${key}${'A'.repeat(2_000)}`,
      'Bearer abc',
      undefined,
    ]) {
      expectHttpsRequired(await auth.authenticate(plain(authorization).request));
    }
    await settled();
    expect(insecure).toEqual([]);
    expect(calls).toEqual([unknown.id]);
  });

  it('counts a wrong key as a failed attempt, and does not look up for a throttled address', async () => {
    const { auth, calls, insecure, key, id } = await setup({
      failedAttempts: { limit: 2, windowSeconds: 60 },
    });
    const forged = withChecksum(`${key.slice(0, 22)}${'x'.repeat(32)}`);
    for (let i = 0; i < 2; i++) {
      expectHttpsRequired(await auth.authenticate(plain(`Bearer ${forged}`).request));
      await settled();
    }
    const overHttps = await auth.authenticate({
      authorization: `Bearer ${key}`,
      secure: true,
      ip: ORIGIN.ip,
    });
    expect(overHttps.ok ? 'ok' : overHttps.error.code).toBe('too_many_failed_attempts');
    const before = calls.length;
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${key}`).request));
    await settled();
    expect(calls.length).toBe(before);
    expect(insecure).toEqual([]);
    // Another address is still heard.
    expectHttpsRequired(
      await auth.authenticate(plain(`Bearer ${key}`, { ...ORIGIN, ip: '198.51.100.8' }).request),
    );
    await settled();
    expect(insecure).toEqual([{ keyId: id, ...ORIGIN, ip: '198.51.100.8' }]);
  });

  it('a token that only looks like a key is refused with 403 all the same, never an exception', async () => {
    // Each is read by the leak check: a signed key's prefix with no signed key after it, and
    // a token whose checksum is right but whose prefix is not a key's.
    const { auth, calls, insecure, errors, key } = await setup();
    for (const token of [
      'orks_live_not-a-signed-key',
      'orks_',
      withChecksum(`orK${key.slice(3, 54)}`),
      withChecksum(`${key.slice(0, 4)}prod${key.slice(8, 54)}`),
    ]) {
      expectHttpsRequired(await auth.authenticate(plain(`Bearer ${token}`).request));
    }
    await settled();
    expect(insecure).toEqual([]);
    expect(errors).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('reports a leaked key with the brute-force throttle off (nothing to count a wrong one in)', async () => {
    const { auth, insecure, key, id } = await setup({ failedAttempts: false });
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${wrongSecret(key)}`).request));
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${key}`).request));
    await settled();
    expect(insecure).toEqual([{ keyId: id, ...ORIGIN }]);
  });

  it('reports nothing when the store cannot answer; onError hears of the lookup', async () => {
    const { auth, insecure, errors, key, id, store } = await setup();
    vi.spyOn(store, 'findById').mockRejectedValue(new Error('connection refused'));
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${key}`).request));
    await settled();
    expect(insecure).toEqual([]);
    expect(errors.map(([, context]) => context)).toEqual([{ operation: 'lookup', keyId: id }]);
  });

  it('a throwing onInsecureKey goes to onError; the request is answered all the same', async () => {
    const onError = vi.fn();
    const { auth, key } = await setup({
      hooks: {
        onInsecureKey() {
          throw new Error('pager down');
        },
        onError,
      },
    });
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${key}`).request));
    await settled();
    expect(onError).toHaveBeenCalledWith(expect.any(Error), { operation: 'hook' });
  });

  it('is never called over HTTPS, nor with requireHttps: false', async () => {
    const { auth, insecure, key } = await setup();
    expect((await auth.authenticate({ authorization: `Bearer ${key}`, secure: true })).ok).toBe(
      true,
    );
    const lax = await setup({ requireHttps: false });
    expect((await lax.auth.authenticate(plain(`Bearer ${lax.key}`).request)).ok).toBe(true);
    await settled();
    expect(insecure).toEqual([]);
    expect(lax.insecure).toEqual([]);
  });
});

describe('plain HTTP and signed keys', () => {
  it('reports a signed key seen in the clear, by id, only when the stored hash accepts the whole token', async () => {
    const insecure: InsecureKeyEvent[] = [];
    const { auth, issue } = signedSetup({
      hooks: { onInsecureKey: (event) => insecure.push(event) },
    });
    const issued = await issue();
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${issued.key}`).request));
    await settled();
    expect(insecure).toEqual([{ keyId: issued.record.id, ...ORIGIN }]);

    // The same id with another signature is not the issued token: nothing to report.
    const tampered = `${issued.key.slice(0, -4)}${issued.key.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expectHttpsRequired(await auth.authenticate(plain(`Bearer ${tampered}`).request));
    await settled();
    expect(insecure).toHaveLength(1);
  });
});
