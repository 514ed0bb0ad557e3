import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuthResult,
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
  type JSONWebKeySet,
  jwksResponse,
  MemoryKeyStore,
  type RemoteJwksOptions,
  type SigningKeys,
} from '../src/index.js';
import { bearer, fakeClock } from './helpers.js';
import {
  AUDIENCE,
  CURRENT,
  craft,
  ISSUER,
  PREVIOUS,
  privateKeyOf,
  record,
  TYP,
} from './signed-helpers.js';

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

/**
 * The issuer's JWKS endpoint, for real, on port 0: it serves whatever `jwks` holds now (as
 * `jwksResponse` renders it), counts fetches, and can fail in the ways a server fails.
 */
async function jwksServer(initial: SigningKeys | JSONWebKeySet) {
  const state = {
    jwks: initial,
    fetches: 0,
    mode: 'ok' as 'ok' | 'error' | 'not-json' | 'slow',
  };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    if (state.mode === 'error') {
      res.writeHead(500).end('down for maintenance');
      return;
    }
    if (state.mode === 'not-json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>');
      return;
    }
    const send = () => {
      const { status, headers, body } = jwksResponse(state.jwks);
      res.writeHead(status, headers).end(body);
    };
    if (state.mode === 'slow') setTimeout(send, 1_000);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return { state, url, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function signingWith(...keys: { kid: string; privateKey?: unknown; publicKey?: unknown }[]) {
  return createSigningKeys({ issuer: ISSUER, audience: AUDIENCE, keys: keys as never });
}

/**
 * An authenticator on a remote JWKS, on a clock of its own: the JWKS's freshness and cool-down
 * follow the authenticator's clock, so the tests move it rather than wait.
 */
function setup(url: string, remote: Omit<RemoteJwksOptions, 'url'> = {}, cache = true) {
  const store = new MemoryKeyStore();
  const clock = fakeClock(Date.now());
  const errors: { error: unknown; operation: string; keyId: string | undefined }[] = [];
  const auth = createAuthenticator({
    store,
    now: clock.now,
    lastUsed: false,
    signedKeys: {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { url, ...remote },
      verificationCache: cache,
    },
    hooks: {
      onError: (error, context) =>
        errors.push({ error, operation: context.operation, keyId: context.keyId }),
    },
  });
  const issuerFor = (signing: SigningKeys) => createKeyManager({ store, signing });
  const issue = async (signing: SigningKeys) =>
    (
      await issuerFor(signing).create({
        workspaceId: 'ws_1',
        name: 'edge',
        scope: 'read-only',
        kind: 'signed',
      })
    ).key;
  return { store, auth, errors, issue, clock };
}

describe('a remote JWKS (createRemoteJWKSet over real HTTP)', () => {
  it('is fetched once and then serves every key from memory', async () => {
    const signing = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    const { state, url } = await jwksServer(signing);
    const { auth, issue } = setup(url, {}, false);
    const keys = [await issue(signing), await issue(signing), await issue(signing)];
    for (const key of keys) expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    for (const key of keys) expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(state.fetches).toBe(1);
  });

  it('an unknown kid makes at most one refetch per cool-down, however many ask at once', async () => {
    const signing = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    const { state, url } = await jwksServer(signing);
    const { auth, issue, store, clock } = setup(url, { cooldownMs: 1_000 });
    expect(codeOf(await auth.authenticate(bearer(await issue(signing))))).toBe('ok');
    expect(state.fetches).toBe(1);

    const stranger = generateSigningKey({ kid: 'key-stranger' });
    const unknown = await craft({
      header: { alg: 'EdDSA', kid: stranger.kid, typ: TYP },
      key: privateKeyOf(stranger),
    });
    await record(store, unknown);
    // Within the cool-down: no refetch at all.
    expect(codeOf(await auth.authenticate(bearer(unknown)))).toBe('invalid_api_key');
    expect(state.fetches).toBe(1);

    clock.advance(999); // still within the cool-down
    expect(codeOf(await auth.authenticate(bearer(unknown)))).toBe('invalid_api_key');
    expect(state.fetches).toBe(1);
    clock.advance(1); // the cool-down is over
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => auth.authenticate(bearer(unknown))),
    );
    expect(answers.map(codeOf)).toEqual(Array(10).fill('invalid_api_key'));
    expect(state.fetches).toBe(2);
    expect(codeOf(await auth.authenticate(bearer(unknown)))).toBe('invalid_api_key');
    expect(state.fetches).toBe(2);
  });

  it('a JWKS that changes: a new signing key verifies at once, a removed one stops once the set is refetched', async () => {
    const before = signingWith({ kid: PREVIOUS.kid, privateKey: PREVIOUS.privateKey });
    const { state, url } = await jwksServer(before);
    const { auth, issue, clock } = setup(url, { cooldownMs: 100, maxAgeMs: 1_000 }, false);
    const old = await issue(before);
    expect(codeOf(await auth.authenticate(bearer(old)))).toBe('ok');

    // Rotation: the new key signs, the old one stays published.
    const during = signingWith(
      { kid: CURRENT.kid, privateKey: CURRENT.privateKey },
      { kid: PREVIOUS.kid, publicKey: PREVIOUS.publicKey },
    );
    state.jwks = during;
    clock.advance(100); // past the cool-down
    const fresh = await issue(during);
    expect(codeOf(await auth.authenticate(bearer(fresh)))).toBe('ok'); // its kid made one refetch
    expect(codeOf(await auth.authenticate(bearer(old)))).toBe('ok');
    expect(state.fetches).toBe(2);

    // Retired for good, when the user says so: the old key leaves the set.
    state.jwks = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    clock.advance(999); // the copy (fetched for the new kid) is 999 ms old: it still serves
    expect(codeOf(await auth.authenticate(bearer(old)))).toBe('ok');
    expect(state.fetches).toBe(2);
    clock.advance(1); // past the max age
    expect(codeOf(await auth.authenticate(bearer(old)))).toBe('invalid_api_key');
    expect(codeOf(await auth.authenticate(bearer(fresh)))).toBe('ok');
    expect(state.fetches).toBe(3);
  });

  it('refuses a key signed with an ES256 key of the set unless ES256 is allowed', async () => {
    const ec = generateSigningKey({ kid: 'p256', algorithm: 'ES256' });
    const ecSigning = signingWith({ kid: ec.kid, privateKey: ec.privateKey });
    const mixed: JSONWebKeySet = {
      keys: [
        ...signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey }).jwks().keys,
        ...ecSigning.jwks().keys,
      ],
    };
    const { url } = await jwksServer(mixed);
    const strict = setup(url);
    const key = await strict.issue(ecSigning);
    expect(codeOf(await strict.auth.authenticate(bearer(key)))).toBe('invalid_api_key');
    const both = createAuthenticator({
      store: strict.store,
      signedKeys: {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { url },
        algorithms: ['EdDSA', 'ES256'],
      },
    });
    expect(codeOf(await both.authenticate(bearer(key)))).toBe('ok');
  });

  describe('fails closed when the JWKS cannot be had: 503 auth_unavailable, reported as operation jwks', () => {
    const cases: [string, 'error' | 'not-json' | 'slow' | 'closed'][] = [
      ['the server answers 500', 'error'],
      ['the server answers something that is not JSON', 'not-json'],
      ['the server is slower than timeoutMs', 'slow'],
      ['nothing listens', 'closed'],
    ];

    it.each(cases)('%s', async (_name, mode) => {
      const signing = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
      const { state, url, server } = await jwksServer(signing);
      if (mode === 'closed') {
        server.close();
        servers.splice(servers.indexOf(server), 1);
      } else state.mode = mode;
      const { auth, issue, errors } = setup(url, { timeoutMs: 200 });
      const key = await issue(signing);
      const result = await auth.authenticate(bearer(key));
      expect(
        result.ok || [result.error.code, result.error.status, result.error.retryAfterSeconds],
      ).toEqual(['auth_unavailable', 503, 5]);
      expect(errors.map((e) => [e.operation, e.keyId])).toEqual([['jwks', key.slice(10, 22)]]);
      expect(String(errors[0]?.error)).not.toContain(key.slice(23));
    });
  });

  it('after a failed fetch, keys not yet verified get 503 without another fetch until the cool-down ends', async () => {
    const signing = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    const { state, url } = await jwksServer(signing);
    state.mode = 'error';
    const { auth, issue, clock } = setup(url, { cooldownMs: 400 });
    const keys = await Promise.all(Array.from({ length: 5 }, () => issue(signing)));
    for (const key of keys) {
      const result = await auth.authenticate(bearer(key));
      expect(result.ok || result.error.code).toBe('auth_unavailable');
    }
    expect(state.fetches).toBe(1);
    state.mode = 'ok';
    expect((await auth.authenticate(bearer(keys[0]!))).ok).toBe(false); // still cooling down
    expect(state.fetches).toBe(1);
    clock.advance(399);
    expect((await auth.authenticate(bearer(keys[0]!))).ok).toBe(false); // still cooling down
    expect(state.fetches).toBe(1);
    clock.advance(1);
    expect((await auth.authenticate(bearer(keys[0]!))).ok).toBe(true);
    expect(state.fetches).toBe(2);
  });

  it('a remembered key skips the signature check: it is admitted while the JWKS is down, a new one is not', async () => {
    const signing = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    const { state, url } = await jwksServer(signing);
    const withCache = setup(url, { maxAgeMs: 100 }, true);
    const without = setup(url, { maxAgeMs: 100 }, false);
    const key = await withCache.issue(signing);
    await without.store.insert((await withCache.store.findById(key.slice(10, 22)))!);
    expect(codeOf(await withCache.auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await without.auth.authenticate(bearer(key)))).toBe('ok');

    state.mode = 'error';
    withCache.clock.advance(100); // both JWKS copies are stale now
    without.clock.advance(100);
    expect(codeOf(await withCache.auth.authenticate(bearer(key)))).toBe('ok');
    expect(codeOf(await without.auth.authenticate(bearer(key)))).toBe('auth_unavailable');
    expect(codeOf(await withCache.auth.authenticate(bearer(await withCache.issue(signing))))).toBe(
      'auth_unavailable',
    );
  });

  it('a signing key removed from the set stops a remembered key when its cache entry ends', async () => {
    const signing = signingWith(
      { kid: CURRENT.kid, privateKey: CURRENT.privateKey },
      { kid: PREVIOUS.kid, publicKey: PREVIOUS.publicKey },
    );
    const { state, url } = await jwksServer(signing);
    const clock = fakeClock(Date.now());
    const store = new MemoryKeyStore();
    const auth = createAuthenticator({
      store,
      now: clock.now,
      lastUsed: false,
      cache: { ttlMs: 30_000 },
      signedKeys: { issuer: ISSUER, audience: AUDIENCE, jwks: { url, maxAgeMs: 100 } },
    });
    const old = await createKeyManager({
      store,
      now: clock.now,
      signing: signingWith({ kid: PREVIOUS.kid, privateKey: PREVIOUS.privateKey }),
    }).create({ workspaceId: 'ws_1', name: 'old', scope: 'read-only', kind: 'signed' });
    expect(codeOf(await auth.authenticate(bearer(old.key)))).toBe('ok');

    state.jwks = signingWith({ kid: CURRENT.kid, privateKey: CURRENT.privateKey });
    clock.advance(100); // the authenticator's copy of the set is stale now
    expect(codeOf(await auth.authenticate(bearer(old.key)))).toBe('ok'); // remembered
    clock.advance(30_001); // the cache entry ends
    expect(codeOf(await auth.authenticate(bearer(old.key)))).toBe('invalid_api_key');
  });
});
