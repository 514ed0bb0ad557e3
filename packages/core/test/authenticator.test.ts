import { describe, expect, it, vi } from 'vitest';
import {
  type AuthenticatorOptions,
  type AuthRequest,
  type AuthResult,
  AuthUnavailableError,
  ConfigurationError,
  type CreateKeyInput,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  generateApiKey,
  InsufficientScopeError,
  type KeyLookup,
  type KeyStore,
  MemoryKeyStore,
  MissingApiKeyError,
  WorkspaceMismatchError,
} from '../src/index.js';
import { KeyHasher } from '../src/store.js';
import { bearer, countingLookup, fakeClock, T0, withChecksum, wrongSecret } from './helpers.js';

const input: CreateKeyInput = { workspaceId: 'ws_1', name: 'erp', scope: 'read-write' };

/** A memory store with keys issued by a real manager, and a counting lookup over it. */
async function setup(options: Partial<AuthenticatorOptions> = {}) {
  const clock = fakeClock();
  const store = new MemoryKeyStore();
  const changeFeed = createLocalChangeFeed();
  const manager = createKeyManager({ store, now: clock.now, changeFeed });
  const { lookup, calls } = countingLookup(store);
  const auth = createAuthenticator({ store: lookup, now: clock.now, changeFeed, ...options });
  const issue = async (overrides: Partial<CreateKeyInput> = {}) => {
    const issued = await manager.create({ ...input, ...overrides });
    return { key: issued.key, id: issued.record.id };
  };
  return { clock, store, manager, auth, calls, issue };
}

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

describe('authenticate: the pipeline in contract order', () => {
  it('admits a valid key over HTTPS and returns its principal', async () => {
    const { auth, issue } = await setup();
    const { key, id } = await issue({ expiresAt: T0 + 60_000 });
    const result = await auth.authenticate(bearer(key));
    expect(result).toEqual({
      ok: true,
      key: {
        keyId: id,
        workspaceId: 'ws_1',
        scope: 'read-write',
        environment: 'live',
        expiresAt: new Date(T0 + 60_000),
      },
    });
  });

  it('refuses plain HTTP with https_required (403) first, even without a header', async () => {
    const { auth, issue, calls } = await setup();
    const { key } = await issue();
    for (const authorization of [undefined, 'Basic x', `Bearer ${key}`, 'Bearer ork_bad']) {
      const result = await auth.authenticate({ authorization, secure: false });
      expect(codeOf(result)).toBe('https_required');
      expect(result.ok === false && result.error.status).toBe(403);
    }
    // Only `true` counts as secure.
    const loose = { authorization: `Bearer ${key}`, secure: 'yes' } as unknown as AuthRequest;
    expect(codeOf(await auth.authenticate(loose))).toBe('https_required');
    expect(calls).toEqual([]);
  });

  it('admits plain HTTP when requireHttps is false', async () => {
    const { auth, issue } = await setup({ requireHttps: false });
    const { key } = await issue();
    expect(codeOf(await auth.authenticate({ authorization: `Bearer ${key}`, secure: false }))).toBe(
      'ok',
    );
    expect(codeOf(await auth.authenticate({ authorization: undefined, secure: false }))).toBe(
      'missing_api_key',
    );
  });

  it('answers missing_api_key and malformed_authorization_header (401)', async () => {
    const { auth, issue, calls } = await setup();
    const { key } = await issue();
    const missing = await auth.authenticate({ authorization: undefined, secure: true });
    expect(codeOf(missing)).toBe('missing_api_key');
    expect(missing.ok === false && missing.error.status).toBe(401);
    for (const authorization of [
      `Basic ${key}`,
      `Bearer${key}`,
      'Bearer ',
      [`Bearer ${key}`, `Bearer ${key}`],
      `Bearer ${'a'.repeat(2000)}`,
    ]) {
      expect(codeOf(await auth.authenticate({ authorization, secure: true }))).toBe(
        'malformed_authorization_header',
      );
    }
    expect(calls).toEqual([]);
  });

  it('honours maxHeaderLength', async () => {
    const { auth, issue } = await setup({ maxHeaderLength: 66 });
    const { key } = await issue();
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('malformed_authorization_header');
    const roomy = (await setup({ maxHeaderLength: 67 })).auth;
    expect(codeOf(await roomy.authenticate(bearer(key)))).toBe('invalid_api_key');
  });

  it('refuses a token of the wrong format or checksum without calling the store', async () => {
    const { auth, issue, calls } = await setup();
    const { key } = await issue();
    const badChecksum = key.slice(0, 59) + (key[59] === 'A' ? 'B' : 'A');
    for (const token of [
      badChecksum,
      'abc',
      key.slice(1),
      `${key}A`,
      key.replace('ork_', 'orc_'),
    ]) {
      const result = await auth.authenticate(bearer(token));
      expect(codeOf(result)).toBe('invalid_api_key');
      expect(result.ok === false && result.error.keyId).toBeUndefined();
    }
    expect(calls).toEqual([]);
  });

  it('accepts only the configured environments; another is invalid_api_key with no lookup', async () => {
    const { auth, issue, calls } = await setup({ environments: ['live'] });
    const live = await issue({ environment: 'live' });
    const test = await issue({ environment: 'test' });
    expect(codeOf(await auth.authenticate(bearer(live.key)))).toBe('ok');
    expect(calls).toEqual([live.id]);
    expect(codeOf(await auth.authenticate(bearer(test.key)))).toBe('invalid_api_key');
    expect(calls).toEqual([live.id]);

    const both = (await setup()).auth;
    const testOnly = (await setup({ environments: ['test'] })).auth;
    const t = generateApiKey('test').token;
    expect(codeOf(await both.authenticate(bearer(t)))).toBe('invalid_api_key');
    expect(codeOf(await testOnly.authenticate(bearer(generateApiKey('live').token)))).toBe(
      'invalid_api_key',
    );
  });

  it('answers invalid_api_key for an unknown id, naming the id', async () => {
    const { auth, calls } = await setup();
    const { token, id } = generateApiKey();
    const result = await auth.authenticate(bearer(token));
    expect(codeOf(result)).toBe('invalid_api_key');
    expect(result.ok === false && result.error.keyId).toBe(id);
    expect(calls).toEqual([id]);
  });

  it('answers invalid_api_key for a well-formed key with the wrong secret', async () => {
    const { auth, issue } = await setup();
    const { key, id } = await issue();
    const forged = wrongSecret(key);
    expect(forged).not.toBe(key);
    const result = await auth.authenticate(bearer(forged));
    expect(codeOf(result)).toBe('invalid_api_key');
    expect(result.ok === false && result.error.keyId).toBe(id);
    // The real key still works afterwards (nothing was cached against it).
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
  });

  it('does not reveal that a key is revoked or expired to a wrong secret', async () => {
    const { auth, issue, manager, clock } = await setup();
    const revoked = await issue();
    await manager.revoke(revoked.id);
    const expiring = await issue({ expiresAt: T0 + 1000 });
    clock.set(T0 + 5000);
    expect(codeOf(await auth.authenticate(bearer(wrongSecret(revoked.key))))).toBe(
      'invalid_api_key',
    );
    expect(codeOf(await auth.authenticate(bearer(wrongSecret(expiring.key))))).toBe(
      'invalid_api_key',
    );
    expect(codeOf(await auth.authenticate(bearer(revoked.key)))).toBe('api_key_revoked');
    expect(codeOf(await auth.authenticate(bearer(expiring.key)))).toBe('api_key_expired');
  });

  it('answers api_key_revoked (401) for a revoked key, before its expiry', async () => {
    const { auth, issue, manager, clock } = await setup();
    const { key, id } = await issue({ expiresAt: T0 + 1000 });
    await manager.revoke(id);
    clock.set(T0 + 2000);
    const result = await auth.authenticate(bearer(key));
    expect(codeOf(result)).toBe('api_key_revoked');
    expect(result.ok === false && result.error.status).toBe(401);
    expect(result.ok === false && result.error.keyId).toBe(id);
  });

  it('admits a key 1 ms before its expiry and refuses it with api_key_expired at the instant', async () => {
    const { auth, issue, clock, calls } = await setup();
    const { key, id } = await issue({ expiresAt: T0 + 10_000 });
    clock.set(T0 + 9_999);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    clock.set(T0 + 10_000);
    const result = await auth.authenticate(bearer(key));
    expect(codeOf(result)).toBe('api_key_expired');
    expect(result.ok === false && result.error.keyId).toBe(id);
    // Expiry is judged on every request, also for a key served from the cache.
    expect(calls).toEqual([id]);
  });

  it('checks the workspace (403 workspace_mismatch) before the scope', async () => {
    const { auth, issue } = await setup();
    const { key, id } = await issue({ scope: 'read-only' });
    const mismatch = await auth.authenticate(
      bearer(key, { workspaceId: 'ws_2', requiredScope: 'admin' }),
    );
    expect(codeOf(mismatch)).toBe('workspace_mismatch');
    expect(mismatch.ok === false && mismatch.error.status).toBe(403);
    expect(mismatch.ok === false && mismatch.error.keyId).toBe(id);
    const scope = await auth.authenticate(
      bearer(key, { workspaceId: 'ws_1', requiredScope: 'read-write' }),
    );
    expect(codeOf(scope)).toBe('insufficient_scope');
    expect(scope.ok === false && scope.error.status).toBe(403);
    expect(scope.ok === false && (scope.error as InsufficientScopeError).requiredScope).toBe(
      'read-write',
    );
    expect(
      codeOf(
        await auth.authenticate(bearer(key, { workspaceId: 'ws_1', requiredScope: 'read-only' })),
      ),
    ).toBe('ok');
  });

  it('admits higher scopes for a lower requirement', async () => {
    const { auth, issue } = await setup();
    const admin = await issue({ scope: 'admin' });
    const rw = await issue({ scope: 'read-write' });
    for (const requiredScope of ['read-only', 'read-write', 'admin'] as const) {
      expect(codeOf(await auth.authenticate(bearer(admin.key, { requiredScope })))).toBe('ok');
    }
    expect(codeOf(await auth.authenticate(bearer(rw.key, { requiredScope: 'read-only' })))).toBe(
      'ok',
    );
    expect(codeOf(await auth.authenticate(bearer(rw.key, { requiredScope: 'admin' })))).toBe(
      'insufficient_scope',
    );
  });

  it('refuses an unknown required scope rather than admitting', async () => {
    const { auth, issue } = await setup();
    const { key } = await issue({ scope: 'admin' });
    const result = await auth.authenticate(bearer(key, { requiredScope: 'root' as never }));
    expect(codeOf(result)).toBe('insufficient_scope');
  });

  it('hands out a frozen principal that holds no hash or secret', async () => {
    const { auth, issue } = await setup();
    const { key } = await issue();
    const result = await auth.authenticate(bearer(key));
    expect(result.ok).toBe(true);
    const principal = result.ok ? result.key : undefined;
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.keys(principal!).sort()).toEqual(
      ['environment', 'expiresAt', 'keyId', 'scope', 'workspaceId'].sort(),
    );
    expect(JSON.stringify(principal)).not.toContain('sha256');
    expect(JSON.stringify(principal)).not.toContain(key.slice(22, 54));
    expect(() => {
      (principal as { scope: string }).scope = 'admin';
    }).toThrow(TypeError);
  });

  it('never rejects and never puts the token in a result', async () => {
    const { auth, issue, manager } = await setup();
    const { key, id } = await issue();
    await manager.revoke(id);
    const requests: AuthRequest[] = [
      bearer(key),
      bearer(wrongSecret(key)),
      { authorization: `Token ${key}`, secure: true },
      { authorization: [`Bearer ${key}`, `Bearer ${key}`], secure: true },
      { authorization: `Bearer ${key}`, secure: false },
    ];
    for (const request of requests) {
      const result = await auth.authenticate(request);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        const rendered = auth.render(result.error);
        expect(JSON.stringify([result, rendered, String(result.error)])).not.toContain(key);
        expect(JSON.stringify(auth.withHeaders(result.error))).not.toContain(key);
      }
    }
  });
});

describe('authorize', () => {
  it('checks workspace then scope, and reports refusals to onRejected', async () => {
    const onRejected = vi.fn();
    const { auth, issue } = await setup({ hooks: { onRejected } });
    const { key, id } = await issue({ scope: 'read-only' });
    const result = await auth.authenticate(bearer(key));
    if (!result.ok) throw new Error('expected the key to authenticate');
    const principal = result.key;

    expect(auth.authorize(principal, {})).toBeUndefined();
    expect(auth.authorize(principal, { workspaceId: 'ws_1', scope: 'read-only' })).toBeUndefined();
    expect(onRejected).not.toHaveBeenCalled();

    const scope = auth.authorize(principal, { scope: 'admin' }, { ip: '10.0.0.1', path: '/v1/x' });
    expect(scope).toBeInstanceOf(InsufficientScopeError);
    expect(scope!.code).toBe('insufficient_scope');
    expect(onRejected).toHaveBeenLastCalledWith({
      code: 'insufficient_scope',
      status: 403,
      keyId: id,
      key: principal,
      ip: '10.0.0.1',
      path: '/v1/x',
    });

    const workspace = auth.authorize(principal, { workspaceId: 'ws_2', scope: 'admin' });
    expect(workspace).toBeInstanceOf(WorkspaceMismatchError);
    expect(onRejected).toHaveBeenLastCalledWith({
      code: 'workspace_mismatch',
      status: 403,
      keyId: id,
      key: principal,
      ip: undefined,
      path: undefined,
    });
    expect(auth.authorize(undefined, { scope: 'read-only' })).toBeInstanceOf(MissingApiKeyError);
    expect(onRejected).toHaveBeenLastCalledWith(expect.objectContaining({ key: undefined }));
    expect(onRejected).toHaveBeenCalledTimes(3);
  });
});

describe('rendering through the authenticator', () => {
  it('uses the configured realm and problem type base', async () => {
    const { auth } = await setup({ realm: 'payments', problemTypeBase: 'https://e.x/p/' });
    expect(auth.realm).toBe('payments');
    const result = await auth.authenticate({ authorization: undefined, secure: true });
    if (result.ok) throw new Error('expected a refusal');
    const rendered = auth.render(result.error);
    expect(rendered.status).toBe(401);
    expect(rendered.headers['WWW-Authenticate']).toBe('Bearer realm="payments"');
    expect(rendered.body.type).toBe('https://e.x/p/missing_api_key');
    expect((await setup()).auth.realm).toBe('api');
  });

  it('withHeaders sets error.headers to the rendered headers and returns the error', async () => {
    const { auth } = await setup({ realm: 'r' });
    const error = new MissingApiKeyError();
    expect(auth.withHeaders(error)).toBe(error);
    expect(error.headers).toEqual({
      'Content-Type': 'application/problem+json',
      'Cache-Control': 'no-store',
      'WWW-Authenticate': 'Bearer realm="r"',
    });
    const unavailable = auth.withHeaders(new AuthUnavailableError(5));
    expect(unavailable.headers).toEqual(auth.render(unavailable).headers);
    expect(unavailable.headers!['Retry-After']).toBe('5');
  });

  it('renders a 503 with the configured Retry-After', async () => {
    const auth = createAuthenticator({
      store: {
        findById() {
          throw new Error('down');
        },
      },
      unavailableRetryAfterSeconds: 17,
    });
    const result = await auth.authenticate(bearer(generateApiKey().token));
    if (result.ok) throw new Error('expected a refusal');
    expect(result.error.code).toBe('auth_unavailable');
    expect(result.error.retryAfterSeconds).toBe(17);
    const rendered = auth.render(result.error);
    expect(rendered.status).toBe(503);
    expect(rendered.headers['Retry-After']).toBe('17');
    expect(rendered.headers).not.toHaveProperty('WWW-Authenticate');
  });
});

describe('hooks', () => {
  it('report successes and refusals with key ids and codes, never the token', async () => {
    const events: unknown[] = [];
    const hooks = {
      onAuthenticated: vi.fn((e: unknown) => events.push(e)),
      onRejected: vi.fn((e: unknown) => events.push(e)),
      onError: vi.fn((e: unknown, c: unknown) => events.push([e, c])),
    };
    const { auth, issue, manager } = await setup({ hooks });
    const good = await issue();
    const revoked = await issue();
    await manager.revoke(revoked.id);
    const origin = { ip: '192.0.2.7', path: '/v1/payments' };

    await auth.authenticate(bearer(good.key, origin));
    expect(hooks.onAuthenticated).toHaveBeenCalledWith({
      key: expect.objectContaining({ keyId: good.id }),
      ...origin,
    });

    await auth.authenticate(bearer(revoked.key, origin));
    expect(hooks.onRejected).toHaveBeenLastCalledWith({
      code: 'api_key_revoked',
      status: 401,
      keyId: revoked.id,
      ...origin,
    });
    await auth.authenticate(bearer(wrongSecret(good.key), origin));
    expect(hooks.onRejected).toHaveBeenLastCalledWith({
      code: 'invalid_api_key',
      status: 401,
      keyId: good.id,
      ...origin,
    });
    await auth.authenticate({ authorization: `Token ${good.key}`, secure: true, ...origin });
    expect(hooks.onRejected).toHaveBeenLastCalledWith({
      code: 'malformed_authorization_header',
      status: 401,
      keyId: undefined,
      ...origin,
    });
    await auth.authenticate({ authorization: `Bearer ${good.key}`, secure: false });
    expect(hooks.onRejected).toHaveBeenLastCalledWith({
      code: 'https_required',
      status: 403,
      keyId: undefined,
      ip: undefined,
      path: undefined,
    });
    // Refused after its key is proven: authenticated first, then rejected, in that order.
    const before = events.length;
    await auth.authenticate(bearer(good.key, { ...origin, requiredScope: 'admin' }));
    const proven = {
      keyId: good.id,
      workspaceId: 'ws_1',
      scope: 'read-write',
      environment: 'live',
    };
    expect(events.slice(before)).toEqual([
      { key: expect.objectContaining(proven), ...origin },
      {
        code: 'insufficient_scope',
        status: 403,
        keyId: good.id,
        key: expect.objectContaining(proven),
        ...origin,
      },
    ]);
    // Before its key is proven, a refusal carries no key: only its id.
    expect(events).toContainEqual(
      expect.objectContaining({ code: 'api_key_revoked', key: undefined }),
    );
    expect(hooks.onAuthenticated).toHaveBeenCalledTimes(2);
    expect(hooks.onRejected).toHaveBeenCalledTimes(5);
    expect(hooks.onError).not.toHaveBeenCalled();

    const text = JSON.stringify(events);
    for (const key of [good.key, revoked.key, wrongSecret(good.key)]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(22, 54));
    }
  });

  it('never pass the token to onError either', async () => {
    const seen: unknown[] = [];
    const { token } = generateApiKey();
    const auth = createAuthenticator({
      store: {
        findById() {
          throw new Error('connection refused');
        },
      },
      hooks: {
        onError: (error, context) => seen.push({ error: String(error), context }),
        onRejected: (event) => seen.push(event),
      },
    });
    await auth.authenticate(bearer(token));
    expect(seen).toHaveLength(2);
    expect(JSON.stringify(seen)).not.toContain(token);
  });

  it('a throwing hook neither breaks authentication nor escapes; onError hears of it', async () => {
    const failure = new Error('audit log down');
    const onError = vi.fn();
    const { auth, issue } = await setup({
      hooks: {
        onAuthenticated() {
          throw failure;
        },
        onRejected() {
          throw failure;
        },
        onError,
      },
    });
    const { key } = await issue();
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(onError).toHaveBeenLastCalledWith(failure, { operation: 'hook' });
    expect(codeOf(await auth.authenticate(bearer(wrongSecret(key))))).toBe('invalid_api_key');
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError).toHaveBeenLastCalledWith(failure, { operation: 'hook' });
  });

  it('a throwing onError is swallowed', async () => {
    const auth = createAuthenticator({
      store: {
        findById() {
          throw new Error('down');
        },
      },
      hooks: {
        onRejected() {
          throw new Error('hook');
        },
        onError() {
          throw new Error('error hook');
        },
      },
    });
    expect(codeOf(await auth.authenticate(bearer(generateApiKey().token)))).toBe(
      'auth_unavailable',
    );
  });

  it('are called with the hooks object as this', async () => {
    const hooks = {
      seen: [] as string[],
      onAuthenticated(this: { seen: string[] }) {
        this.seen.push('authenticated');
      },
    };
    const { auth, issue } = await setup({ hooks });
    const { key } = await issue();
    await auth.authenticate(bearer(key));
    expect(hooks.seen).toEqual(['authenticated']);
  });

  it('may be an instance of a class: its methods are the hooks, its fields its own state', async () => {
    class Audit {
      readonly lines: string[] = [];
      readonly onboarding = true; // starts like a hook, but is no near miss of one
      onAuthenticated(event: { key: { keyId: string } }) {
        this.lines.push(`in ${event.key.keyId}`);
      }
    }
    const audit = new Audit();
    const { auth, issue } = await setup({ hooks: audit as never });
    const { id, key } = await issue();
    await auth.authenticate(bearer(key));
    expect(audit.lines).toEqual([`in ${id}`]);
  });

  it('takes a hooks object without a prototype, and state whose name only contains "On"', async () => {
    const hooks = Object.assign(Object.create(null) as Record<string, unknown>, {
      lastOnError: undefined, // state: it does not start with "on"
      onAuthenticated: (event: { key: { keyId: string } }) => seen.push(event.key.keyId),
    });
    const seen: string[] = [];
    const { auth, issue } = await setup({ hooks: hooks as never });
    const { id, key } = await issue();
    await auth.authenticate(bearer(key));
    expect(seen).toEqual([id]);
  });

  it('refuses a name that looks like a hook but is none, even far from every hook', () => {
    expect(() =>
      createAuthenticator({ store: new MemoryKeyStore(), hooks: { onShutdown() {} } as never }),
    ).toThrow(ConfigurationError);
  });

  it('refuses a misspelt hook, own or inherited from a class, naming the one it meant', () => {
    class Audit {
      onRejeted() {}
    }
    for (const hooks of [
      { onAuthenticate() {} },
      new Audit(),
      { OnError() {} },
      { onerror() {} },
    ]) {
      let thrown: unknown;
      try {
        createAuthenticator({ store: new MemoryKeyStore(), hooks: hooks as never });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'ERR_ORKESTA_AUTH_CONFIG' });
      expect((thrown as { suggestion?: string }).suggestion).toMatch(/^hooks\.on/);
    }
  });
});

describe('options', () => {
  const store = new MemoryKeyStore();
  const lookup = { findById: () => undefined };

  it.each<[string, unknown]>([
    ['no options', undefined],
    ['null options', null],
    ['no store', {}],
    ['a store without findById', { store: {} }],
    ['a store whose findById is not a function', { store: { findById: 'x' } }],
    ['a null store', { store: null }],
    ['environments []', { store, environments: [] }],
    ['an unknown environment', { store, environments: ['live', 'prod'] }],
    ['environments not a list', { store, environments: 'live' }],
    ['requireHttps not a boolean', { store, requireHttps: 'false' }],
    ['an empty realm', { store, realm: '' }],
    ['a realm with a line break', { store, realm: 'a\nb' }],
    ['a bad problem type base', { store, problemTypeBase: 'a\nb' }],
    ['a short pepper', { store, hashing: { pepper: { id: 'p', secret: 'short' } } }],
    ['null hashing', { store, hashing: null }],
    ['hashing a string', { store, hashing: 'pepper' }],
    ['previousPeppers not a list', { store, hashing: { previousPeppers: 'p' } }],
    ['now not a function', { store, now: 5 }],
    ['null now', { store, now: null }],
    ['null realm', { store, realm: null }],
    ['storeTimeoutMs 0', { store, storeTimeoutMs: 0 }],
    ['storeTimeoutMs -1', { store, storeTimeoutMs: -1 }],
    ['storeTimeoutMs 1.5', { store, storeTimeoutMs: 1.5 }],
    ['storeTimeoutMs NaN', { store, storeTimeoutMs: Number.NaN }],
    ['storeTimeoutMs "20"', { store, storeTimeoutMs: '20' }],
    // setTimeout cannot wait longer than 2^31-1 ms; a longer delay would fire after 1 ms.
    ['storeTimeoutMs 2^31', { store, storeTimeoutMs: 2 ** 31 }],
    ['lastUsed.intervalMs 2^31', { store, lastUsed: { intervalMs: 2 ** 31 } }],
    ['unavailableRetryAfterSeconds 0', { store, unavailableRetryAfterSeconds: 0 }],
    ['maxHeaderLength 0', { store, maxHeaderLength: 0 }],
    ['hooks not an object', { store, hooks: () => {} }],
    ['null hooks', { store, hooks: null }],
    ['onAuthenticated not a function', { store, hooks: { onAuthenticated: 'log' } }],
    ['onRejected not a function', { store, hooks: { onRejected: {} } }],
    ['onError not a function', { store, hooks: { onError: 1 } }],
    ['onInsecureKey not a function', { store, hooks: { onInsecureKey: true } }],
    ['null cache', { store, cache: null }],
    ['cache a string', { store, cache: 'big' }],
    ['cache a number', { store, cache: 100 }],
    ['cache true', { store, cache: true }],
    ['cache.max 0', { store, cache: { max: 0 } }],
    ['cache.ttlMs -5', { store, cache: { ttlMs: -5 } }],
    ['cache.negativeMax 1.5', { store, cache: { negativeMax: 1.5 } }],
    ['cache.negativeTtlMs 0', { store, cache: { negativeTtlMs: 0 } }],
    ['lastUsed with a store lacking recordLastUsed', { store: lookup, lastUsed: {} }],
    [
      'lastUsed.intervalMs with a store lacking recordLastUsed',
      { store: lookup, lastUsed: { intervalMs: 1000 } },
    ],
    ['lastUsed.intervalMs 0', { store, lastUsed: { intervalMs: 0 } }],
    ['a change feed without subscribe', { store, changeFeed: { publish() {} } }],
    ['a null change feed', { store, changeFeed: null }],
  ])('refuses %s with a ConfigurationError', (_, options) => {
    expect(() => createAuthenticator(options as AuthenticatorOptions)).toThrow(ConfigurationError);
  });

  it('accepts a bare lookup, with or without lastUsed: false', () => {
    expect(() => createAuthenticator({ store: lookup })).not.toThrow();
    expect(() => createAuthenticator({ store: lookup, storeTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
    expect(() => createAuthenticator({ store: lookup, lastUsed: false })).not.toThrow();
    expect(() => createAuthenticator({ store, cache: false, lastUsed: false })).not.toThrow();
  });

  it('accepts a synchronous lookup returning plain values', async () => {
    const { token } = generateApiKey();
    const auth = createAuthenticator({ store: { findById: () => null } });
    expect(codeOf(await auth.authenticate(bearer(token)))).toBe('invalid_api_key');
  });

  it('accepts a key whose record dates are epoch ms or ISO strings', async () => {
    const source = new MemoryKeyStore();
    const issued = await createKeyManager({ store: source }).create(input);
    const record = (await source.findById(issued.record.id))!;
    const future = Date.now() + 3_600_000;
    for (const expiresAt of [future, new Date(future).toISOString()]) {
      const auth = createAuthenticator({
        store: { findById: () => ({ ...record, expiresAt, revokedAt: undefined }) },
      });
      const result = await auth.authenticate(bearer(issued.key));
      expect(result.ok && result.key.expiresAt).toEqual(new Date(future));
    }
    const revoked = createAuthenticator({
      store: { findById: () => ({ ...record, revokedAt: '2026-01-01T00:00:00Z' }) },
    });
    expect(codeOf(await revoked.authenticate(bearer(issued.key)))).toBe('api_key_revoked');
  });

  it('stops listening to the change feed on close()', async () => {
    const { auth, issue, manager, calls } = await setup({ lastUsed: false });
    const { key, id } = await issue();
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    await auth.close();
    await manager.revoke(id);
    // Still served from the cache: the revocation was not heard after close().
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    expect(calls).toEqual([id]);
  });

  it('closes without a change feed, writing the pending last-used times', async () => {
    const store = new MemoryKeyStore();
    const manager = createKeyManager({ store });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const written: string[][] = [];
    // A bare lookup with a last-used writer of its own: no feed to leave.
    const lookup: KeyLookup & Pick<KeyStore, 'recordLastUsed'> = {
      findById: (id) => store.findById(id),
      recordLastUsed: async (batch) => {
        written.push([...batch.keys()]);
      },
    };
    const auth = createAuthenticator({ store: lookup });
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    await auth.close();
    expect(written).toEqual([[issued.record.id]]);
  });
});

describe('a key with the right shape but forged checksum body', () => {
  it('is refused whatever id it names', async () => {
    const { auth, issue } = await setup();
    const { key } = await issue();
    // Same id, secret replaced wholesale, checksum recomputed.
    const forged = withChecksum(`${key.slice(0, 22)}${'A'.repeat(32)}`);
    expect(codeOf(await auth.authenticate(bearer(forged)))).toBe('invalid_api_key');
  });
});

describe('the hot path', () => {
  it('authenticateMaybeSync answers at once from the cache and with a promise for a lookup', async () => {
    const { auth, issue } = await setup();
    const { key } = await issue();
    const first = auth.authenticateMaybeSync(bearer(key));
    expect(first).toBeInstanceOf(Promise);
    expect(codeOf(await first)).toBe('ok');
    const second = auth.authenticateMaybeSync(bearer(key));
    expect(second).not.toBeInstanceOf(Promise);
    expect(codeOf(second as AuthResult)).toBe('ok');
    const refused = auth.authenticateMaybeSync(bearer('nope'));
    expect(codeOf(refused as AuthResult)).toBe('invalid_api_key');
  });

  it('hashes a cached key once, and a wrong secret for it is still refused', async () => {
    const verify = vi.spyOn(KeyHasher.prototype, 'verify');
    try {
      const { auth, issue } = await setup();
      const { key } = await issue();
      for (let i = 0; i < 5; i++) expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
      expect(verify).toHaveBeenCalledTimes(1);
      // A different secret under the same id does not match the remembered token: hashed, refused.
      expect(codeOf(await auth.authenticate(bearer(wrongSecret(key))))).toBe('invalid_api_key');
      expect(verify).toHaveBeenCalledTimes(2);
      expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
      expect(verify).toHaveBeenCalledTimes(2);
    } finally {
      verify.mockRestore();
    }
  });

  it('a revoked key is refused even after its token was remembered', async () => {
    const { auth, issue, manager } = await setup();
    const { key, id } = await issue();
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('ok');
    await manager.revoke(id);
    expect(codeOf(await auth.authenticate(bearer(key)))).toBe('api_key_revoked');
  });

  it('reads secure, ip and path only when it needs them', async () => {
    const { auth, issue } = await setup({ requireHttps: false });
    const { key } = await issue();
    const reads: string[] = [];
    const request: AuthRequest = {
      authorization: `Bearer ${key}`,
      get secure() {
        reads.push('secure');
        return false;
      },
      get ip() {
        reads.push('ip');
        return '127.0.0.1';
      },
      get path() {
        reads.push('path');
        return '/x';
      },
    };
    expect(codeOf(await auth.authenticate(request))).toBe('ok');
    expect(
      codeOf(await auth.authenticate({ ...bearer('nope'), ...request, authorization: 'x' })),
    ).toBe('malformed_authorization_header');
    // The spread above read each getter once to copy it; the authenticator read none.
    expect(reads).toEqual(['secure', 'ip', 'path']);
  });
});
