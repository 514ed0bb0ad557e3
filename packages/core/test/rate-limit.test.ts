import { describe, expect, it } from 'vitest';
import {
  type AuthenticatorOptions,
  type AuthResult,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  KeyManagementError,
  MemoryKeyStore,
  MemoryRateLimiter,
  type RateLimiter,
} from '../src/index.js';
import { clientAddressGroup, FailedAttemptThrottle } from '../src/steps/throttle.js';
import { type RateLimitDecision, rateLimitRule } from '../src/store.js';
import { bearer, countingLookup, fakeClock, T0, wrongSecret } from './helpers.js';

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

describe('GCRA in MemoryRateLimiter', () => {
  const rule = rateLimitRule({ limit: 10, windowSeconds: 10 }, 'read-only', 'test');

  it('admits exactly the burst at once, then one per interval', () => {
    const limiter = new MemoryRateLimiter();
    const now = T0;
    const decisions = Array.from({ length: 12 }, () => limiter.take('k', rule, now));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]);
    expect(decisions[10]).toEqual({
      allowed: false,
      remaining: 0,
      resetMs: 10_000,
      retryAfterMs: 1_000,
    });
    // One interval later exactly one more; the next is refused again.
    expect(limiter.take('k', rule, now + 999).allowed).toBe(false);
    expect(limiter.take('k', rule, now + 1_000).allowed).toBe(true);
    expect(limiter.take('k', rule, now + 1_000).allowed).toBe(false);
    // Fully rested after the window: the whole burst again.
    const later = now + 1_000 + 10_000;
    expect(
      Array.from({ length: 11 }, () => limiter.take('k', rule, later).allowed).filter(Boolean),
    ).toHaveLength(10);
  });

  it('a smaller burst caps what arrives at once, not the sustained rate', () => {
    const limiter = new MemoryRateLimiter();
    const small = rateLimitRule({ limit: 10, windowSeconds: 10, burst: 2 }, 'key', 'test');
    expect([1, 2, 3].map(() => limiter.take('k', small, T0).allowed)).toEqual([true, true, false]);
    // Over 10 s at a steady pace: 10 more (one per second), none refused.
    let admitted = 0;
    for (let t = 1_000; t <= 10_000; t += 1_000)
      if (limiter.take('k', small, T0 + t).allowed) admitted++;
    expect(admitted).toBe(10);
  });

  it('keys do not share buckets', () => {
    const limiter = new MemoryRateLimiter();
    const one = rateLimitRule({ limit: 1, windowSeconds: 60 }, 'key', 'test');
    expect(limiter.take('a', one, T0).allowed).toBe(true);
    expect(limiter.take('a', one, T0).allowed).toBe(false);
    expect(limiter.take('b', one, T0).allowed).toBe(true);
  });

  it('retry-after is the exact wait for a rate whose interval is not whole milliseconds', () => {
    const limiter = new MemoryRateLimiter();
    const odd = rateLimitRule({ limit: 3, windowSeconds: 1 }, 'key', 'test');
    for (let i = 0; i < 3; i++) expect(limiter.take('k', odd, T0).allowed).toBe(true);
    const refused = limiter.take('k', odd, T0);
    expect(refused.retryAfterMs).toBeCloseTo(1_000 / 3, 2);
    expect(limiter.take('k', odd, T0 + Math.ceil(refused.retryAfterMs)).allowed).toBe(true);
  });

  it('stays within maxBuckets however many distinct keys arrive', () => {
    const limiter = new MemoryRateLimiter({ maxBuckets: 1_000 });
    for (let i = 0; i < 200_000; i++) limiter.take(`k${i}`, rule, T0);
    expect(limiter.size).toBe(1_000);
  });

  it.each([
    [{ limit: 0, windowSeconds: 1 }],
    [{ limit: 1.5, windowSeconds: 1 }],
    [{ limit: 1, windowSeconds: 0 }],
    [{ limit: 1, windowSeconds: 1, burst: 0 }],
    [{ limit: 1, windowSeconds: 366 * 86_400 + 1 }],
    [{ limit: 100_001, windowSeconds: 1 }],
    [null],
  ])('refuses the policy %j', (policy) => {
    expect(() => rateLimitRule(policy as never, 'key', 'rateLimit')).toThrow(ConfigurationError);
  });

  it('refuses a bad maxBuckets', () => {
    expect(() => new MemoryRateLimiter({ maxBuckets: 0 })).toThrow(ConfigurationError);
    expect(() => new MemoryRateLimiter(null as never)).toThrow(ConfigurationError);
  });
});

describe('clientAddressGroup', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:198.51.100.45', '198.51.100.45'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    // The old IPv4-compatible form is not mapped: it is the /64 of ::102:304, as that is.
    ['::1.2.3.4', '0:0:0:0::/64'],
    ['::102:304', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['fe80::1%et.0', 'fe80:0:0:0::/64'],
    ['64:ff9b::203.0.113.7', '64:ff9b:0:0::/64'],
  ])('%s counts as %s', (ip, group) => {
    expect(clientAddressGroup(ip)).toBe(group);
  });

  it('one /64 is one group; the next /64 is another', () => {
    expect(clientAddressGroup('2001:db8:1:2::1')).toBe(clientAddressGroup('2001:db8:1:2:ffff::9'));
    expect(clientAddressGroup('2001:db8:1:2::1')).not.toBe(clientAddressGroup('2001:db8:1:3::1'));
  });

  it.each([
    [undefined],
    [''],
    ['not an ip'],
    ['1.2.3'],
    ['::ffff:1.2.3'],
    ['01.2.3.4'],
    ['::ffff:01.2.3.4'],
    ['::ffff:0x1.2.3.4'],
    ['1::2::3'],
    ['203.0.113.7, 10.0.0.1'],
    // Not a string, from an adapter that got its types wrong: Node's isIPv4 would read it.
    [['203.0.113.7']],
  ])('%j has no group', (ip) => {
    expect(clientAddressGroup(ip as string | undefined)).toBeUndefined();
  });
});

async function keyed(
  options: Partial<AuthenticatorOptions> = {},
  scope: 'read-only' | 'admin' = 'read-only',
) {
  const clock = fakeClock();
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store, now: clock.now });
  const { key, record } = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope });
  const { lookup, calls } = countingLookup(store);
  const auth = createAuthenticator({
    store: { findById: lookup.findById, changes: store.changes },
    now: clock.now,
    lastUsed: false,
    ...options,
  });
  return { clock, store, manager, key, id: record.id, auth, calls };
}

describe('the rate step of the pipeline', () => {
  const rateLimit = { scopes: { 'read-only': { limit: 3, windowSeconds: 60 } } };

  it('admits the burst with RateLimit fields, then 429 rate_limit_exceeded with Retry-After', async () => {
    const { auth, key } = await keyed({ rateLimit });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await auth.authenticate(bearer(key)));
    expect(results.map(codeOf)).toEqual(['ok', 'ok', 'ok', 'rate_limit_exceeded']);
    expect(results[0]).toMatchObject({
      ok: true,
      headers: { 'RateLimit-Policy': '"read-only";q=3;w=60', RateLimit: '"read-only";r=2;t=20' },
    });
    expect(results[2]).toMatchObject({ headers: { RateLimit: '"read-only";r=0;t=60' } });
    const refused = results[3]!;
    if (refused.ok) throw new Error('admitted');
    const rendered = auth.render(refused.error);
    expect(rendered.status).toBe(429);
    expect(rendered.headers).toMatchObject({
      'Retry-After': '20',
      'RateLimit-Policy': '"read-only";q=3;w=60',
      RateLimit: '"read-only";r=0;t=60',
      'Content-Type': 'application/problem+json',
    });
    expect(rendered.body).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(JSON.stringify(rendered)).not.toContain(key);
  });

  it('Retry-After tells when the next request is admitted', async () => {
    const { auth, key, clock } = await keyed({ rateLimit });
    for (let i = 0; i < 3; i++) await auth.authenticate(bearer(key));
    const refused = await auth.authenticate(bearer(key));
    const seconds = refused.ok ? 0 : (refused.error.retryAfterSeconds ?? 0);
    expect(seconds).toBe(20);
    clock.advance(seconds * 1_000 - 1);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('rate_limit_exceeded');
    clock.advance(1);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
  });

  it('Retry-After is whole seconds and never 0', async () => {
    const { auth, key, clock } = await keyed({
      rateLimit: { scopes: { 'read-only': { limit: 1, windowSeconds: 1 } } },
    });
    await auth.authenticate(bearer(key));
    clock.advance(999);
    const refused = await auth.authenticate(bearer(key));
    expect(refused.ok ? undefined : auth.render(refused.error).headers['Retry-After']).toBe('1');
  });

  it('headers: false keeps admitted responses free of RateLimit fields, not refusals', async () => {
    const { auth, key } = await keyed({ rateLimit: { ...rateLimit, headers: false } });
    const first = await auth.authenticate(bearer(key));
    expect(first).toEqual({ ok: true, key: expect.anything() });
    for (let i = 0; i < 2; i++) await auth.authenticate(bearer(key));
    const refused = await auth.authenticate(bearer(key));
    expect(refused.ok ? {} : auth.render(refused.error).headers).toHaveProperty('RateLimit');
  });

  it('scopes without a rate, and authenticators without rateLimit, do not limit or add headers', async () => {
    const admin = await keyed({ rateLimit }, 'admin');
    const none = await keyed();
    const off = await keyed({ rateLimit: false });
    await off.manager.setRateLimit(off.id, { limit: 1, windowSeconds: 60 });
    for (const { auth, key } of [admin, none, off]) {
      for (let i = 0; i < 10; i++)
        expect(await auth.authenticate(bearer(key))).toEqual({ ok: true, key: expect.anything() });
    }
  });

  it('workspace is checked before the rate, scope after it (the contract order)', async () => {
    const { auth, key } = await keyed({ rateLimit });
    const wrongWorkspace = bearer(key, { workspaceId: 'ws_other' });
    for (let i = 0; i < 5; i++)
      expect(codeOf(await auth.authenticate(wrongWorkspace))).toBe('workspace_mismatch');
    // None of those counted: the full burst is still there.
    const needsAdmin = bearer(key, { requiredScope: 'admin' });
    expect(
      (await Promise.all([1, 2, 3].map(() => auth.authenticate(needsAdmin)))).map(codeOf),
    ).toEqual(['insufficient_scope', 'insufficient_scope', 'insufficient_scope']);
    // Those did count: the rate step comes first.
    expect(codeOf(await auth.authenticate(needsAdmin))).toBe('rate_limit_exceeded');
  });

  it("a key's own rate, set through KeyManager, overrides its scope's and reaches the cache at once", async () => {
    const { auth, key, id, manager } = await keyed({ rateLimit });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok'); // cached under the scope's rate
    // Without scope defaults a key's own rate still applies.
    const plain = await keyed();
    await plain.manager.setRateLimit(plain.id, { limit: 1, windowSeconds: 60 });
    expect(codeOf(await plain.auth.authenticate(bearer(plain.key)))).toBe('ok');
    expect(codeOf(await plain.auth.authenticate(bearer(plain.key)))).toBe('rate_limit_exceeded');
    const info = await manager.setRateLimit(id, { limit: 100, windowSeconds: 60, burst: 5 });
    expect(info.rateLimit).toEqual({ limit: 100, windowSeconds: 60, burst: 5 });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await auth.authenticate(bearer(key)));
    expect(results.map(codeOf)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limit_exceeded']);
    expect(results[0]).toMatchObject({ headers: { 'RateLimit-Policy': '"key";q=100;w=60' } });

    const cleared = await manager.setRateLimit(id, null);
    expect(cleared.rateLimit).toBeNull();
    expect(results.length).toBe(6);
    const after = await auth.authenticate(bearer(key));
    expect(after.ok ? after.headers?.['RateLimit-Policy'] : after.error.code).toBe(
      '"read-only";q=3;w=60',
    );
  });

  it('create takes a rate, rotate carries it over, bad rates are invalid_key_parameters', async () => {
    const { manager } = await keyed();
    const issued = await manager.create({
      workspaceId: 'ws_1',
      name: 'etl',
      scope: 'read-write',
      rateLimit: { limit: 5, windowSeconds: 1 },
    });
    expect(issued.record.rateLimit).toEqual({ limit: 5, windowSeconds: 1, burst: 5 });
    const { issued: successor } = await manager.rotate(issued.record.id);
    expect(successor.record.rateLimit).toEqual({ limit: 5, windowSeconds: 1, burst: 5 });
    for (const bad of [{ limit: 0, windowSeconds: 1 }, { limit: 1 }, 'fast']) {
      const attempt = manager.create({
        workspaceId: 'ws_1',
        name: 'x',
        scope: 'admin',
        rateLimit: bad as never,
      });
      await expect(attempt).rejects.toMatchObject({ code: 'invalid_key_parameters' });
      await expect(manager.setRateLimit(issued.record.id, bad as never)).rejects.toBeInstanceOf(
        KeyManagementError,
      );
    }
    await expect(manager.setRateLimit('AAAAAAAAAAAA', null)).rejects.toMatchObject({
      code: 'api_key_not_found',
    });
  });

  it('a stored rate that makes no sense is a store fault: 503, reported', async () => {
    const errors: string[] = [];
    const { auth, key, store, id } = await keyed({
      rateLimit,
      hooks: { onError: (error) => errors.push((error as { code: string }).code) },
    });
    await store.update(id, { rateLimit: { limit: -1, windowSeconds: 1 } });
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    expect(errors).toEqual(['ERR_ORKESTA_AUTH_STORED_RECORD']);
  });

  it('a scope refusal after the rate step carries the rate fields; other answers carry none', async () => {
    const { auth, key } = await keyed({ rateLimit });
    const refused = await auth.authenticate(bearer(key, { requiredScope: 'admin' }));
    expect(codeOf(refused)).toBe('insufficient_scope');
    expect(refused.headers).toEqual({
      'RateLimit-Policy': '"read-only";q=3;w=60',
      RateLimit: '"read-only";r=2;t=20',
    });
    // A key without a rate: neither its admission nor its refusal has a headers field at all.
    const plain = await keyed({ rateLimit: { scopes: {} } });
    const admitted = await plain.auth.authenticate(bearer(plain.key));
    const below = await plain.auth.authenticate(bearer(plain.key, { requiredScope: 'admin' }));
    expect([codeOf(admitted), codeOf(below)]).toEqual(['ok', 'insufficient_scope']);
    expect(Object.hasOwn(admitted, 'headers')).toBe(false);
    expect(Object.hasOwn(below, 'headers')).toBe(false);
  });

  it('a stored rateLimit of null is no rate of its own: the scope rate applies', async () => {
    const { key, store, id } = await keyed({ rateLimit });
    // As a SQL store returns it: the column is there, and null.
    const record = { ...(await store.findById(id))!, rateLimit: null };
    const auth = createAuthenticator({ store: { findById: () => record }, rateLimit });
    const first = await auth.authenticate(bearer(key));
    expect(first.ok && first.headers?.['RateLimit-Policy']).toBe('"read-only";q=3;w=60');
  });

  it('an async limiter is awaited; a failing one admits nothing (503) and is reported', async () => {
    let fail = false;
    const memory = new MemoryRateLimiter();
    const limiter: RateLimiter = {
      async take(bucket, rule, now): Promise<RateLimitDecision> {
        if (fail) throw new Error('limiter down');
        return memory.take(bucket, rule, now);
      },
    };
    const contexts: string[] = [];
    const { auth, key } = await keyed({
      rateLimit: { ...rateLimit, limiter },
      hooks: { onError: (_e, context) => contexts.push(context.operation) },
    });
    const first = await auth.authenticate(bearer(key));
    expect(first.ok && first.headers?.RateLimit).toBe('"read-only";r=2;t=20');
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    // Its refusal is awaited as well as its admission.
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('rate_limit_exceeded');
    fail = true;
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    const throwing = await keyed({
      rateLimit: {
        ...rateLimit,
        limiter: {
          take() {
            throw new Error('sync failure');
          },
        },
      },
    });
    expect(codeOf(await throwing.auth.authenticate(bearer(throwing.key)))).toBe('auth_unavailable');
    expect(contexts).toEqual(['rate-limit']);
  });

  it.each([
    [{ scopes: null }],
    [{ scopes: { owner: { limit: 1, windowSeconds: 1 } } }],
    [{ scopes: { admin: { limit: 0, windowSeconds: 1 } } }],
    [{ scopes: {}, limiter: {} }],
    [{ scopes: {}, headers: 'yes' }],
    ['on'],
  ])('refuses rateLimit %j at creation', (rateLimitOption) => {
    expect(() =>
      createAuthenticator({ store: new MemoryKeyStore(), rateLimit: rateLimitOption as never }),
    ).toThrow(ConfigurationError);
  });
});

describe('brute-force throttling', () => {
  const failedAttempts = { limit: 5, windowSeconds: 60 };
  const junk = (i: number) => `ork_live_${'A'.repeat(12)}_${String(i).padStart(38, 'x')}`;

  it('answers 429 too_many_failed_attempts once an address is over, before any lookup', async () => {
    const { auth, key, calls } = await keyed({ failedAttempts });
    const from = { ip: '203.0.113.7' };
    const unknownId = (await keyed()).key; // a valid key of another store: unknown here
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await auth.authenticate(bearer(i % 2 ? junk(i) : unknownId, from)))).toBe(
        'invalid_api_key',
      );
    }
    const lookups = calls.length;
    const throttled = await auth.authenticate(bearer(unknownId, from));
    expect(codeOf(throttled)).toBe('too_many_failed_attempts');
    expect(calls.length).toBe(lookups); // refused before the store was asked
    if (throttled.ok) throw new Error('admitted');
    expect(auth.render(throttled.error)).toMatchObject({
      status: 429,
      headers: { 'Retry-After': '12' },
      body: { code: 'too_many_failed_attempts', status: 429 },
    });
    // A valid key from that address waits too; another address is not affected.
    expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('too_many_failed_attempts');
    expect(codeOf(await auth.authenticate(bearer(key, { ip: '203.0.113.8' })))).toBe('ok');
  });

  it('admits a key this instance already verified while its address is throttled; nothing else passes', async () => {
    const { auth, key, calls } = await keyed({ failedAttempts });
    const from = { ip: '203.0.113.9' };
    expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('ok'); // now remembered
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(junk(i), from));
    const unknownId = (await keyed()).key;
    expect(codeOf(await auth.authenticate(bearer(unknownId, from)))).toBe(
      'too_many_failed_attempts',
    );
    const lookups = calls.length;
    for (let i = 0; i < 20; i++) {
      expect(codeOf(await auth.authenticate(bearer(junk(10 + i), from)))).toBe(
        'too_many_failed_attempts',
      );
      expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('ok');
    }
    // The key's id with another secret is not compared with anything: the throttle answers.
    expect(codeOf(await auth.authenticate(bearer(wrongSecret(key), from)))).toBe(
      'too_many_failed_attempts',
    );
    expect(calls.length).toBe(lookups);
  });

  it('a flood from one address: the genuine key, already verified, is admitted every time', async () => {
    const { auth, key } = await keyed({ failedAttempts });
    const from = { ip: '198.51.100.77' };
    expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('ok');
    // 2,000 bad keys and 200 genuine requests from the one address, all at once.
    const flood = Array.from({ length: 2_000 }, (_, i) => auth.authenticate(bearer(junk(i), from)));
    const genuine = Array.from({ length: 200 }, () => auth.authenticate(bearer(key, from)));
    const [bad, good] = await Promise.all([Promise.all(flood), Promise.all(genuine)]);
    expect(new Set(good.map(codeOf))).toEqual(new Set(['ok']));
    const codes = bad.map(codeOf);
    expect(codes.filter((code) => code === 'invalid_api_key')).toHaveLength(5);
    expect(codes.filter((code) => code === 'too_many_failed_attempts')).toHaveLength(1_995);
  });

  it.each([
    [2, 'ok'],
    [3, 'too_many_failed_attempts'],
  ])(
    'keeps at most maxAddresses groups (%i): the least recently seen is dropped',
    async (maxAddresses, code) => {
      const { auth, key } = await keyed({
        failedAttempts: { limit: 2, windowSeconds: 60, maxAddresses },
      });
      const held = { ip: '192.0.2.1' };
      for (let i = 0; i < 2; i++) await auth.authenticate(bearer(junk(i), held));
      expect(codeOf(await auth.authenticate(bearer(key, held)))).toBe('too_many_failed_attempts');
      // Two more addresses fail once each: with room for two groups, the first is forgotten.
      await auth.authenticate(bearer(junk(2), { ip: '192.0.2.2' }));
      await auth.authenticate(bearer(junk(3), { ip: '192.0.2.3' }));
      expect(codeOf(await auth.authenticate(bearer(key, held)))).toBe(code);
    },
  );

  it('counts malformed headers, revoked and expired keys too; not missing keys or other refusals', async () => {
    // cache: false, so that the key, once admitted, is not let past the throttle as remembered.
    const { auth, key, id, manager } = await keyed({
      failedAttempts: { limit: 2, windowSeconds: 60 },
      cache: false,
    });
    const ip = '198.51.100.1';
    for (let i = 0; i < 5; i++) {
      await auth.authenticate({ authorization: undefined, secure: true, ip });
      await auth.authenticate(bearer(key, { ip, workspaceId: 'ws_other' }));
      await auth.authenticate(bearer(key, { ip, requiredScope: 'admin' }));
    }
    expect(codeOf(await auth.authenticate(bearer(key, { ip })))).toBe('ok');
    expect(codeOf(await auth.authenticate({ authorization: 'Basic abc', secure: true, ip }))).toBe(
      'malformed_authorization_header',
    );
    await manager.revoke(id);
    expect(codeOf(await auth.authenticate(bearer(key, { ip })))).toBe('api_key_revoked');
    expect(codeOf(await auth.authenticate(bearer(key, { ip })))).toBe('too_many_failed_attempts');
  });

  it.each([
    'malformed_authorization_header',
    'invalid_api_key',
    'api_key_revoked',
    'api_key_expired',
  ])('%s alone counts: two of them hold the address back', async (code) => {
    const { auth, manager, clock } = await keyed({
      failedAttempts: { limit: 2, windowSeconds: 60 },
    });
    const failing = await manager.create({
      workspaceId: 'ws_1',
      name: 'failing',
      scope: 'read-only',
      expiresAt: clock.now() + 1_000,
    });
    if (code === 'api_key_revoked') await manager.revoke(failing.record.id);
    if (code === 'api_key_expired') clock.advance(1_000);
    const authorization =
      code === 'malformed_authorization_header'
        ? 'Bearer'
        : code === 'invalid_api_key'
          ? `Bearer ${junk(1)}`
          : `Bearer ${failing.key}`;
    const ip = '198.51.100.2';
    for (let i = 0; i < 2; i++) {
      expect(codeOf(await auth.authenticate({ authorization, secure: true, ip }))).toBe(code);
    }
    // The next request from that address, with a key this time, is held back before its lookup
    // (a malformed header is refused at extract, before the throttle step, whatever it is).
    expect(codeOf(await auth.authenticate(bearer(junk(2), { ip })))).toBe(
      'too_many_failed_attempts',
    );
  });

  it('groups IPv6 clients by /64', async () => {
    const { auth } = await keyed({ failedAttempts: { limit: 2, windowSeconds: 60 } });
    await auth.authenticate(bearer(junk(1), { ip: '2001:db8:1:2::1' }));
    await auth.authenticate(bearer(junk(2), { ip: '2001:db8:1:2::2' }));
    expect(codeOf(await auth.authenticate(bearer(junk(3), { ip: '2001:db8:1:2:ffff::3' })))).toBe(
      'too_many_failed_attempts',
    );
    expect(codeOf(await auth.authenticate(bearer(junk(3), { ip: '2001:db8:1:3::1' })))).toBe(
      'invalid_api_key',
    );
  });

  it('lets the address try again as its allowance refills', async () => {
    const { auth, key, clock } = await keyed({ failedAttempts });
    const from = { ip: '203.0.113.9' };
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(junk(i), from));
    const throttled = await auth.authenticate(bearer(key, from));
    const wait = throttled.ok ? 0 : (throttled.error.retryAfterSeconds ?? 0);
    clock.advance(wait * 1_000 - 1);
    expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('too_many_failed_attempts');
    clock.advance(1);
    expect(codeOf(await auth.authenticate(bearer(key, from)))).toBe('ok');
  });

  it('is on by default (100 per 60 s), off with false, and needs an address to count', async () => {
    const on = await keyed();
    for (let i = 0; i < 100; i++) await on.auth.authenticate(bearer(junk(i), { ip: '192.0.2.1' }));
    expect(codeOf(await on.auth.authenticate(bearer(on.key, { ip: '192.0.2.1' })))).toBe(
      'too_many_failed_attempts',
    );
    for (let i = 0; i < 150; i++) await on.auth.authenticate(bearer(junk(i)));
    expect(codeOf(await on.auth.authenticate(bearer(on.key)))).toBe('ok');

    const off = await keyed({ failedAttempts: false });
    for (let i = 0; i < 150; i++) await off.auth.authenticate(bearer(junk(i), { ip: '192.0.2.1' }));
    expect(codeOf(await off.auth.authenticate(bearer(off.key, { ip: '192.0.2.1' })))).toBe('ok');
  });

  it('keeps IPv4 addresses apart and an IPv4-mapped IPv6 address with its IPv4 one', async () => {
    const { auth, key } = await keyed({
      failedAttempts: { limit: 1, windowSeconds: 60 },
      cache: false, // the key is a probe of the throttle: never let past it as remembered
    });
    // Addresses whose octets differ only in place, and the ends of the range. In pairs with
    // the second list, those after the ends would share a key if dots or digits were read
    // otherwise (found by search over such misreadings).
    const addresses = [
      '1.0.0.2',
      '2.0.0.1',
      '0.0.1.2',
      '255.255.255.255',
      '0.0.0.0',
      '10.1.1.1',
      '1.23.4.5',
      '3.2.4.182',
      '7.3.4.2',
      '36.1.4.8',
    ];
    for (const ip of addresses) await auth.authenticate(bearer(junk(1), { ip }));
    for (const ip of addresses) {
      expect(codeOf(await auth.authenticate(bearer(key, { ip })))).toBe('too_many_failed_attempts');
    }
    for (const ip of [
      '1.0.0.20',
      '2.0.0.10',
      '0.1.0.2',
      '255.255.255.254',
      '10.1.1.11',
      '12.3.4.5',
      '3.184.2.2',
      '67.67.4.2',
      '164.1.4.8',
    ]) {
      expect(codeOf(await auth.authenticate(bearer(key, { ip })))).toBe('ok');
    }
    expect(codeOf(await auth.authenticate(bearer(key, { ip: '::ffff:10.1.1.1' })))).toBe(
      'too_many_failed_attempts',
    );
  });

  it('holds an address back across the restating of its table (every 2^30 ms)', async () => {
    // cache: false: the key is a probe of the throttle, never let past it as remembered.
    const { auth, key, clock } = await keyed({ failedAttempts, cache: false });
    const early = { ip: '192.0.2.10' };
    const late = { ip: '192.0.2.11' };
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(junk(i), early));
    expect(codeOf(await auth.authenticate(bearer(key, early)))).toBe('too_many_failed_attempts');
    // Just before the table is restated, `late` uses up its allowance.
    clock.advance(2 ** 30 - 1_000);
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(junk(i), late));
    clock.advance(2_000); // past 2^30 ms after the first failure: the next look restates
    const throttled = await auth.authenticate(bearer(key, late));
    expect(codeOf(throttled)).toBe('too_many_failed_attempts');
    // 5 failures 2 s ago, one allowed every 12 s: the next in 10 s, as without the restating.
    expect(throttled.ok ? 0 : throttled.error.retryAfterSeconds).toBe(10);
    expect(codeOf(await auth.authenticate(bearer(key, early)))).toBe('ok');
    clock.advance(10_000 - 1);
    expect(codeOf(await auth.authenticate(bearer(key, late)))).toBe('too_many_failed_attempts');
    clock.advance(1);
    expect(codeOf(await auth.authenticate(bearer(key, late)))).toBe('ok');
  });

  it('an unknown failedAttempts option is refused by its path', () => {
    expect(() =>
      createAuthenticator({
        store: new MemoryKeyStore(),
        failedAttempts: { limit: 5, windowSecond: 60 } as never,
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_ORKESTA_AUTH_CONFIG',
        option: 'failedAttempts.windowSecond',
        suggestion: 'failedAttempts.windowSeconds',
      }),
    );
  });

  it.each([[{ limit: 0 }], [{ windowSeconds: -1 }], [{ maxAddresses: 0 }], ['on']])(
    'refuses failedAttempts %j at creation',
    (option) => {
      expect(() =>
        createAuthenticator({ store: new MemoryKeyStore(), failedAttempts: option as never }),
      ).toThrow(ConfigurationError);
    },
  );
});

describe('FailedAttemptThrottle', () => {
  const t = T0;

  it('holds nobody back before the first failure', () => {
    const throttle = new FailedAttemptThrottle({ limit: 1, windowSeconds: 60 });
    expect(throttle.isQuiet(t)).toBe(true);
    expect(throttle.blockedForMs('192.0.2.1', t)).toBe(0);
  });

  it('a failure without a usable address counts nowhere and leaves it quiet', () => {
    const throttle = new FailedAttemptThrottle({ limit: 1, windowSeconds: 60 });
    throttle.recordFailure(undefined, t);
    throttle.recordFailure('not an ip', t);
    expect(throttle.isQuiet(t)).toBe(true);
  });

  it('counts every failure of a group toward its limit', () => {
    const throttle = new FailedAttemptThrottle({ limit: 2, windowSeconds: 60 });
    throttle.recordFailure('192.0.2.1', t);
    expect(throttle.blockedForMs('192.0.2.1', t)).toBe(0);
    throttle.recordFailure('192.0.2.1', t);
    // Two failures allowed per 60 s: the next may come when one has refilled, 30 s on.
    expect(throttle.blockedForMs('192.0.2.1', t)).toBe(30_000);
    expect(throttle.blockedForMs('192.0.2.2', t)).toBe(0);
    expect(throttle.isQuiet(t)).toBe(false);
  });

  // One failure allowed a minute: each blocks its group for 60 s. The table holds two groups.
  const small = () => new FailedAttemptThrottle({ limit: 1, windowSeconds: 60, maxAddresses: 2 });

  it('beyond maxAddresses drops the least recently used group; a look at a group is a use', () => {
    const throttle = small();
    throttle.recordFailure('192.0.2.1', t); // X: its time passes at t + 60 s
    throttle.recordFailure('192.0.2.2', t + 120_000); // Y: blocked until t + 180 s
    expect(throttle.blockedForMs('192.0.2.1', t + 120_001)).toBe(0); // X is looked at
    throttle.recordFailure('192.0.2.3', t + 120_002); // Z: the table is full, Y is the oldest use
    expect(throttle.blockedForMs('192.0.2.3', t + 120_002)).toBe(60_000);
    expect(throttle.blockedForMs('192.0.2.2', t + 120_003)).toBe(0); // Y was dropped
  });

  // Past the mark the times are restated and X, whose time has passed, is dropped: Y stays.
  // At the mark exactly nothing is restated yet: X, looked at, stays, and Y is the oldest use.
  it.each([
    ['past the 2^30 ms mark', 2 ** 30 + 1, 59_000],
    ['at the 2^30 ms mark exactly', 2 ** 30, 0],
  ])(
    'restating its times (%s) drops the groups whose time has passed, and keeps the others',
    (_when, at, yBlockedForMs) => {
      const throttle = small();
      throttle.recordFailure('192.0.2.9', t); // the first failure: the epoch
      // X's time ends exactly at `at`; Y is blocked past it. The table now holds X and Y.
      throttle.recordFailure('192.0.2.1', t + at - 60_000);
      throttle.recordFailure('192.0.2.2', t + at - 1_000);
      expect(throttle.blockedForMs('192.0.2.1', t + at)).toBe(0);
      throttle.recordFailure('192.0.2.3', t + at);
      expect(throttle.blockedForMs('192.0.2.2', t + at)).toBe(yBlockedForMs);
      expect(throttle.blockedForMs('192.0.2.3', t + at)).toBe(60_000);
    },
  );

  it('a look without a usable address leaves the table as it was, restating included', () => {
    const mark = 2 ** 30;
    const throttle = small();
    throttle.recordFailure('192.0.2.9', t); // the epoch
    throttle.recordFailure('192.0.2.1', t + mark - 30_000); // X: its time ends 30 s past the mark
    throttle.recordFailure('192.0.2.2', t + mark - 1_000); // Y: blocked until 59 s past it
    expect(throttle.blockedForMs(undefined, t + mark + 1)).toBe(0); // must not restate here
    // The first look with an address restates now: X's time has passed, X goes; Y stays.
    expect(throttle.blockedForMs('192.0.2.1', t + mark + 40_000)).toBe(0);
    throttle.recordFailure('192.0.2.3', t + mark + 40_000);
    expect(throttle.blockedForMs('192.0.2.2', t + mark + 40_000)).toBe(19_000);
  });

  it('is quiet once a whole window has passed since the last failure anywhere', () => {
    const throttle = new FailedAttemptThrottle({ limit: 2, windowSeconds: 60 });
    throttle.recordFailure('192.0.2.1', t);
    throttle.recordFailure('2001:db8::1', t + 10_000);
    expect(throttle.isQuiet(t + 60_001)).toBe(false);
    expect(throttle.isQuiet(t + 70_001)).toBe(true);
  });
});
