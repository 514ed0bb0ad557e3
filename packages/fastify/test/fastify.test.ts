import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyError, FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { calledOnce } from '../src/called-once.js';
import type { AuthenticatedKey, KeyLookup } from '../src/index.js';
import {
  AuthError,
  Authenticator,
  authErrorHandler,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
  MemoryKeyStore,
  orkestaAuth,
  orkestaJwks,
  requestLogSerializer,
  requireScope,
} from '../src/index.js';

async function storeWithKeys() {
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store });
  const issue = async (scope: 'read-only' | 'read-write' | 'admin', workspaceId = 'ws_1') =>
    (await manager.create({ workspaceId, name: `test-${scope}-${workspaceId}`, scope })).key;
  return {
    store,
    manager,
    keys: {
      readOnly: await issue('read-only'),
      readWrite: await issue('read-write'),
      admin: await issue('admin'),
      otherWorkspace: await issue('admin', 'ws_2'),
    },
  };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A route answering what the plugin left on the request. */
const echo = (request: { auth?: AuthenticatedKey | null }) => ({
  keyId: request.auth?.keyId ?? null,
  scope: request.auth?.scope ?? null,
});

/** Why `ready()` rejected, for a registration that must fail. */
async function readyError(app: FastifyInstance): Promise<unknown> {
  try {
    await app.ready();
  } catch (error) {
    return error;
  } finally {
    await app.close().catch(() => {});
  }
  throw new Error('ready() resolved');
}

describe('the orkestaAuth plugin on Fastify 5', () => {
  it('sets a typed, frozen, secret-free request.auth, null where it does not run', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false });
    let seen: AuthenticatedKey | null | undefined;
    app.get('/', (request) => {
      expectTypeOf(request.auth).toEqualTypeOf<AuthenticatedKey | null | undefined>();
      seen = request.auth;
      return request.auth;
    });
    app.get('/health', { config: { orkesta: { public: true } } }, (request) => ({
      auth: request.auth,
    }));
    const res = await app.inject({ url: '/', headers: bearer(keys.readWrite) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      keyId: keys.readWrite.split('_')[2],
      workspaceId: 'ws_1',
      scope: 'read-write',
      environment: 'live',
      expiresAt: null,
    });
    expect(Object.isFrozen(seen)).toBe(true);
    expect(JSON.stringify(seen)).not.toContain(keys.readWrite.split('_')[3]);
    const open = await app.inject({ url: '/health' });
    expect([open.statusCode, open.json()]).toEqual([200, { auth: null }]);
    await app.close();
  });

  it('answers a refusal with the contract: status, challenge, no-store, problem+json', async () => {
    const { store } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false, realm: 'payments' });
    const handler = vi.fn(echo);
    app.get('/', handler);
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="payments"');
    expect(res.json()).toMatchObject({ status: 401, code: 'missing_api_key' });
    expect(handler).not.toHaveBeenCalled();
    await app.close();
  });

  it("checks the route's config.orkesta.scope in the same step, after the workspace", async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, {
      store,
      requireHttps: false,
      workspace: (request) => (request.params as { ws?: string }).ws,
    });
    app.post('/write', { config: { orkesta: { scope: 'read-write' } } }, echo);
    app.get('/ws/:ws/admin', { config: { orkesta: { scope: 'admin' } } }, echo);
    const refused = await app.inject({
      method: 'POST',
      url: '/write',
      headers: bearer(keys.readOnly),
    });
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'insufficient_scope']);
    expect(refused.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="read-write"',
    );
    const admitted = await app.inject({
      method: 'POST',
      url: '/write',
      headers: bearer(keys.admin),
    });
    expect([admitted.statusCode, admitted.json().scope]).toEqual([200, 'admin']);
    const other = await app.inject({ url: '/ws/ws_1/admin', headers: bearer(keys.otherWorkspace) });
    expect([other.statusCode, other.json().code]).toEqual([403, 'workspace_mismatch']);
    const own = await app.inject({ url: '/ws/ws_2/admin', headers: bearer(keys.otherWorkspace) });
    expect(own.statusCode).toBe(200);
    await app.close();
  });

  it('requireScope() as a preHandler counts only a key the plugin admitted', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false });
    app.get('/admin', { preHandler: requireScope('admin') }, echo);
    // Another hook that writes request.auth cannot lend a public route a scope.
    app.get(
      '/forged',
      {
        config: { orkesta: { public: true } },
        onRequest: (request, _reply, done) => {
          request.auth = {
            keyId: 'AAAAAAAAAAAA',
            workspaceId: 'ws_1',
            scope: 'admin',
            environment: 'live',
            expiresAt: null,
          };
          done();
        },
        preHandler: requireScope('read-only'),
      },
      echo,
    );
    const low = await app.inject({ url: '/admin', headers: bearer(keys.readWrite) });
    expect([low.statusCode, low.json().code]).toEqual([403, 'insufficient_scope']);
    const high = await app.inject({ url: '/admin', headers: bearer(keys.admin) });
    expect(high.statusCode).toBe(200);
    const forged = await app.inject({ url: '/forged' });
    expect([forged.statusCode, forged.json().code]).toEqual([401, 'missing_api_key']);
    await app.close();
  });

  it('requireScope() outside the plugin refuses with 401, and an unknown scope throws at once', async () => {
    const app = Fastify();
    app.get('/', { preHandler: requireScope('read-only') }, echo);
    const res = await app.inject({ url: '/' });
    expect([res.statusCode, res.json().code]).toEqual([401, 'missing_api_key']);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    await app.close();
    expect(() => requireScope('owner' as 'admin')).toThrow(ConfigurationError);
  });

  it('protects only the context it is registered in (encapsulation respected)', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    app.get('/health', () => ({ status: 'ok' }));
    await app.register(async (api) => {
      await api.register(orkestaAuth, { store, requireHttps: false });
      api.get('/v1/accounts', echo);
      expect(api.orkestaAuthenticator).toBeInstanceOf(Authenticator);
    });
    app.get('/public', (request) => ({ decorated: 'auth' in request }));
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/public' })).json()).toEqual({ decorated: false });
    expect((await app.inject({ url: '/v1/accounts' })).statusCode).toBe(401);
    const admitted = await app.inject({ url: '/v1/accounts', headers: bearer(keys.readOnly) });
    expect(admitted.statusCode).toBe(200);
    expect(app.hasDecorator('orkestaAuthenticator')).toBe(false);
    await app.close();
  });

  it("at the root it also covers Fastify's 404: no key is 401, a key is 404", async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false });
    const without = await app.inject({ url: '/nowhere' });
    expect([without.statusCode, without.json().code]).toEqual([401, 'missing_api_key']);
    const known = await app.inject({ url: '/nowhere', headers: bearer(keys.readOnly) });
    expect(known.statusCode).toBe(404);
    await app.close();
  });

  it('plugins registered and loaded before it are covered too', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    // Loaded before the plugin: Fastify hands a hook added later to the contexts made already.
    await app.register(async (early) => {
      early.get('/early/config', { config: { orkesta: { scope: 'admin' } } }, echo);
      early.get('/early/hook', { preHandler: requireScope('admin') }, echo);
    });
    await app.register(orkestaAuth, { store, requireHttps: false });
    for (const url of ['/early/config', '/early/hook']) {
      expect((await app.inject({ url })).statusCode).toBe(401);
      const low = await app.inject({ url, headers: bearer(keys.readWrite) });
      expect([low.statusCode, low.json().code]).toEqual([403, 'insufficient_scope']);
      const admitted = await app.inject({ url, headers: bearer(keys.admin) });
      expect([admitted.statusCode, admitted.json().scope]).toEqual([200, 'admin']);
    }
    await app.close();
  });

  it('routes declared before the plugin loaded are authenticated too', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    // Not awaited: the routes below are declared before the plugin has run.
    app.register(orkestaAuth, { store, requireHttps: false });
    app.get('/read', { config: { orkesta: { scope: 'admin' } } }, echo);
    expect((await app.inject({ url: '/read' })).statusCode).toBe(401);
    const low = await app.inject({ url: '/read', headers: bearer(keys.readOnly) });
    expect([low.statusCode, low.json().code]).toEqual([403, 'insufficient_scope']);
    await app.close();
  });

  it('an authentication that waits on the store completes, and a store failure is 503', async () => {
    const { store, keys } = await storeWithKeys();
    const slow: KeyLookup = {
      findById: async (id: string) => {
        await new Promise((resolve) => setImmediate(resolve));
        return store.findById(id);
      },
    };
    const failing: KeyLookup = {
      findById: () => Promise.reject(new Error('connection refused')),
    };
    const onError = vi.fn();
    for (const [name, keyStore] of [
      ['slow', slow],
      ['failing', failing],
    ] as const) {
      const app = Fastify();
      await app.register(orkestaAuth, {
        store: keyStore,
        requireHttps: false,
        cache: false,
        hooks: { onError },
      });
      app.get('/', echo);
      const res = await app.inject({ url: '/', headers: bearer(keys.readOnly) });
      if (name === 'slow') expect(res.statusCode).toBe(200);
      else {
        expect([res.statusCode, res.json().code]).toEqual([503, 'auth_unavailable']);
        expect(res.headers['retry-after']).toBe('5');
      }
      await app.close();
    }
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('a workspace resolver that throws is a 500 from Fastify, and nothing is admitted', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, {
      store,
      requireHttps: false,
      workspace: () => {
        throw new Error('resolver bug');
      },
    });
    const handler = vi.fn(echo);
    app.get('/', handler);
    const res = await app.inject({ url: '/', headers: bearer(keys.admin) });
    expect(res.statusCode).toBe(500);
    expect(handler).not.toHaveBeenCalled();
    await app.close();
  });

  it('HTTPS is judged by request.protocol, so trustProxy decides X-Forwarded-Proto', async () => {
    const { store, keys } = await storeWithKeys();
    for (const [trustProxy, expected] of [
      [true, 200],
      [false, 403],
    ] as const) {
      const app = Fastify({ trustProxy });
      await app.register(orkestaAuth, { store });
      app.get('/', echo);
      const res = await app.inject({
        url: '/',
        headers: { ...bearer(keys.readOnly), 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode).toBe(expected);
      if (expected === 403) expect(res.json().code).toBe('https_required');
      await app.close();
    }
  });
});

describe("orkestaAuth's options, checked at registration", () => {
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ['a misspelt option, naming the closest', { workspce: () => undefined }, 'workspace'],
    ['an unknown failure mode', { onFailure: 'next' }, undefined],
    ['a workspace that is no function', { workspace: 'ws_1' }, undefined],
    ['Fastify’s prefix, which would protect nothing more', { prefix: '/v1' }, undefined],
  ];
  it.each(cases)('refuses %s', async (_name, extra, suggestion) => {
    const store = new MemoryKeyStore();
    const app = Fastify();
    app.register(orkestaAuth, { store, ...extra } as never);
    const error = await readyError(app);
    expect(error).toBeInstanceOf(ConfigurationError);
    if (suggestion !== undefined) {
      expect((error as ConfigurationError).suggestion).toBe(suggestion);
    }
  });

  it('refuses authenticator options beside an authenticator', async () => {
    const store = new MemoryKeyStore();
    const app = Fastify();
    app.register(orkestaAuth, {
      authenticator: createAuthenticator({ store }),
      store,
    } as never);
    expect(await readyError(app)).toBeInstanceOf(ConfigurationError);
  });

  it('refuses a second registration on the same routes', async () => {
    const store = new MemoryKeyStore();
    const app = Fastify();
    await app.register(orkestaAuth, { store });
    app.register(async (child) => {
      await child.register(orkestaAuth, { store });
    });
    expect(await readyError(app)).toBeInstanceOf(ConfigurationError);
  });

  it('refuses a second registration in the same context', async () => {
    const store = new MemoryKeyStore();
    const app = Fastify();
    await app.register(orkestaAuth, { store });
    app.register(orkestaAuth, { store });
    expect(await readyError(app)).toBeInstanceOf(ConfigurationError);
  });

  it('registered inside first and around later, the inner one decides for its routes', async () => {
    const { store, keys } = await storeWithKeys();
    const seen: string[] = [];
    const hooks = (name: string) => ({
      onAuthenticated: () => {
        seen.push(name);
      },
    });
    const app = Fastify();
    await app.register(async (inner) => {
      await inner.register(orkestaAuth, { store, requireHttps: false, hooks: hooks('inner') });
      inner.get('/inner', { onRequest: requireScope('read-only') }, echo);
    });
    await app.register(orkestaAuth, { store, requireHttps: false, hooks: hooks('outer') });
    app.get('/outer', { onRequest: requireScope('read-only') }, echo);
    for (const url of ['/inner', '/outer']) {
      const res = await app.inject({ url, headers: bearer(keys.readOnly) });
      expect([url, res.statusCode]).toEqual([url, 200]);
    }
    // One authentication a request, by the plugin nearest the route.
    expect(seen).toEqual(['inner', 'outer']);
    await app.close();
  });

  it('requireScope as an onRequest hook refuses before the body is read', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false });
    app.post('/early', { onRequest: requireScope('admin') }, echo);
    app.post('/late', { preHandler: requireScope('admin') }, echo);
    const broken = {
      headers: { ...bearer(keys.readOnly), 'content-type': 'application/json' },
      payload: '{not json',
    };
    const early = await app.inject({ method: 'POST', url: '/early', ...broken });
    expect([early.statusCode, early.json().code]).toEqual([403, 'insufficient_scope']);
    // As a preHandler it runs after the body: Fastify's 400 comes first.
    const late = await app.inject({ method: 'POST', url: '/late', ...broken });
    expect(late.statusCode).toBe(400);
    await app.close();
  });

  it('refuses a wrong route config when the route is registered', async () => {
    const configs: unknown[] = [
      { scope: 'owner' },
      { scopes: 'admin' },
      { public: 'yes' },
      { public: true, scope: 'admin' },
      'admin',
    ];
    for (const orkesta of configs) {
      const app = Fastify();
      await app.register(orkestaAuth, { store: new MemoryKeyStore() });
      expect(() => app.get('/', { config: { orkesta: orkesta as never } }, echo)).toThrow(
        ConfigurationError,
      );
      await app.close();
    }
  });

  it('a wrong config on a route declared before the plugin loaded is a 500, never an admission', async () => {
    const { store, keys } = await storeWithKeys();
    const app = Fastify();
    app.register(orkestaAuth, { store, requireHttps: false });
    const handler = vi.fn(echo);
    app.get('/', { config: { orkesta: { scope: 'owner' as 'admin' } } }, handler);
    const res = await app.inject({ url: '/', headers: bearer(keys.admin) });
    expect(res.statusCode).toBe(500);
    expect(handler).not.toHaveBeenCalled();
    await app.close();
  });
});

describe("onFailure: 'throw' and authErrorHandler()", () => {
  it('hands the AuthError to the error handler, which answers as respond would', async () => {
    const responses: Record<string, unknown>[] = [];
    const logged: string[] = [];
    const handed: string[] = [];
    // One store; each mode's authenticator keeps its own rates, on one fixed clock.
    const { store, keys } = await storeWithKeys();
    for (const onFailure of ['respond', 'throw'] as const) {
      // Warnings and errors only: Fastify warns when a handler sends a reply twice.
      const stream = { write: (line: string) => logged.push(line) };
      const app = Fastify({ logger: { level: 'warn', stream } });
      const seen = vi.fn();
      const handler = authErrorHandler(function otherwise(error, _request, reply) {
        seen(error);
        reply.code(418).send({ other: true });
      });
      app.setErrorHandler(function errors(error: FastifyError, request, reply) {
        if (error instanceof AuthError) handed.push(`${onFailure} ${error.code}`);
        return handler.call(this, error, request, reply);
      });
      await app.register(orkestaAuth, {
        store,
        requireHttps: false,
        realm: 'payments',
        problemTypeBase: 'https://errors.example/',
        rateLimit: { scopes: { 'read-only': { limit: 1, windowSeconds: 60 } } },
        now: () => Date.parse('2026-12-01T10:00:00.000Z'),
        onFailure,
      });
      app.get('/admin', { config: { orkesta: { scope: 'admin' } } }, echo);
      app.get('/hook', { preHandler: requireScope('admin') }, echo);
      app.get('/boom', () => {
        throw new Error('not ours');
      });
      const requests: [string, Record<string, string>][] = [
        ['/admin', {}],
        ['/admin', bearer(keys.readWrite)],
        ['/hook', bearer(keys.readWrite)],
        ['/admin', bearer(keys.readOnly)],
        ['/admin', bearer(keys.readOnly)],
      ];
      for (const [url, headers] of requests) {
        const res = await app.inject({ url, headers });
        const { date: _date, connection: _connection, ...kept } = res.headers;
        responses.push({ onFailure, status: res.statusCode, headers: kept, body: res.json() });
      }
      const other = await app.inject({ url: '/boom', headers: bearer(keys.admin) });
      expect([other.statusCode, other.json()]).toEqual([418, { other: true }]);
      expect(seen).toHaveBeenCalledTimes(1);
      expect(seen.mock.calls[0]![0]).not.toBeInstanceOf(AuthError);
      await app.close();
    }
    const answers = (mode: string) =>
      responses.filter((r) => r.onFailure === mode).map(({ onFailure: _, ...rest }) => rest);
    expect(answers('throw')).toEqual(answers('respond'));
    expect(answers('respond').map((r) => [r.status, (r.body as { code: string }).code])).toEqual([
      [401, 'missing_api_key'],
      [403, 'insufficient_scope'],
      [403, 'insufficient_scope'],
      [403, 'insufficient_scope'],
      [429, 'rate_limit_exceeded'],
    ]);
    expect(answers('respond')[4]).toMatchObject({
      headers: { 'retry-after': expect.any(String), ratelimit: expect.any(String) },
    });
    expect(answers('respond')[1]).toMatchObject({
      body: { type: 'https://errors.example/insufficient_scope' },
      headers: { 'www-authenticate': expect.stringContaining('realm="payments"') },
    });
    // Only the throw mode reached the error handler, from the plugin's hook and requireScope's.
    expect(handed).toEqual([
      'throw missing_api_key',
      'throw insufficient_scope',
      'throw insufficient_scope',
      'throw insufficient_scope',
      'throw rate_limit_exceeded',
    ]);
    expect(logged).toEqual([]);
  });

  it("without a handler of ours, Fastify's default still sends the status and challenge", async () => {
    const { store } = await storeWithKeys();
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false, onFailure: 'throw' });
    app.get('/', echo);
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(res.json().code).toBe('missing_api_key');
    await app.close();
  });

  it('an error that is not ours goes to the parent handler without otherwise', async () => {
    const app = Fastify();
    app.setErrorHandler((_error, _request, reply) => {
      reply.code(502).send({ parent: true });
    });
    await app.register(async (child) => {
      child.setErrorHandler(authErrorHandler());
      child.get('/', () => {
        throw new Error('not ours');
      });
    });
    const res = await app.inject({ url: '/' });
    expect([res.statusCode, res.json()]).toEqual([502, { parent: true }]);
    await app.close();
    expect(() => authErrorHandler('log' as never)).toThrow(ConfigurationError);
  });
});

describe('closing', () => {
  it('closes the authenticator it built with the app, writing pending last-used times', async () => {
    const { store, keys } = await storeWithKeys();
    const touched = vi.spyOn(store, 'recordLastUsed');
    const app = Fastify();
    await app.register(orkestaAuth, { store, requireHttps: false });
    app.get('/', echo);
    expect((await app.inject({ url: '/', headers: bearer(keys.readOnly) })).statusCode).toBe(200);
    const close = vi.spyOn(app.orkestaAuthenticator, 'close');
    await app.close();
    expect(close).toHaveBeenCalledTimes(1);
    expect(touched).toHaveBeenCalled();
  });

  it('leaves an authenticator passed in to its owner', async () => {
    const { store } = await storeWithKeys();
    const authenticator = createAuthenticator({ store, requireHttps: false });
    const close = vi.spyOn(authenticator, 'close');
    const app = Fastify();
    await app.register(orkestaAuth, { authenticator });
    expect(app.orkestaAuthenticator).toBe(authenticator);
    await app.close();
    expect(close).not.toHaveBeenCalled();
    await authenticator.close();
  });
});

const signing = createSigningKeys({
  issuer: 'https://keys.example.com',
  audience: 'https://api.example.com',
  keys: [{ kid: 'k1', privateKey: generateSigningKey({ kid: 'k1' }).privateKey }],
});

describe('orkestaJwks', () => {
  it('serves the public JWKS on GET and HEAD, past the plugin, under a prefix', async () => {
    // HEAD is the plugin's own route, not Fastify's automatic one.
    const app = Fastify({ exposeHeadRoutes: false });
    await app.register(orkestaAuth, { store: new MemoryKeyStore() });
    await app.register(orkestaJwks, { jwks: signing, maxAgeSeconds: 60 });
    await app.register(orkestaJwks, {
      jwks: signing,
      prefix: '/auth',
      path: '/keys',
      logLevel: 'warn',
    });
    const res = await app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.json()).toEqual(signing.jwks());
    expect(JSON.stringify(res.json())).not.toMatch(/"d"/);
    const head = await app.inject({ method: 'HEAD', url: '/.well-known/jwks.json' });
    expect([head.statusCode, head.body]).toEqual([200, '']);
    expect((await app.inject({ url: '/auth/keys' })).json()).toEqual(signing.jwks());
    await app.close();
  });

  it('refuses private key material, a missing set, a wrong path or an unknown option', async () => {
    const privateSet = { keys: [{ ...generateSigningKey({ kid: 'k2' }).privateKey }] } as never;
    for (const options of [
      { jwks: privateSet },
      {},
      { jwks: signing, path: 'jwks.json' },
      { jwks: signing, maxAge: 60 },
    ]) {
      const app = Fastify();
      app.register(orkestaJwks, options as never);
      expect(await readyError(app)).toBeInstanceOf(ConfigurationError);
    }
  });
});

describe('requestLogSerializer', () => {
  it("logs Fastify's request fields with anything key-shaped in the URL redacted", async () => {
    const { store, keys } = await storeWithKeys();
    const lines: string[] = [];
    const app = Fastify({
      logger: {
        serializers: { req: requestLogSerializer },
        stream: { write: (line: string) => lines.push(line) },
      },
    });
    await app.register(orkestaAuth, { store, requireHttps: false });
    app.get('/read', echo);
    const truncated = keys.readOnly.slice(0, 40);
    const res = await app.inject({
      url: `/read?api_key=${keys.readOnly}&page=2&other=${truncated}&auth=Bearer%20${keys.admin}`,
      headers: { 'accept-version': '1.x' },
    });
    expect(res.statusCode).toBe(401);
    await app.close();
    const logged = lines.map((line) => JSON.parse(line) as { req?: Record<string, unknown> });
    const requests = logged.flatMap((entry) => (entry.req === undefined ? [] : [entry.req]));
    expect(requests).toEqual([
      {
        method: 'GET',
        url: '/read?api_key=[redacted]&page=2&other=[redacted]&auth=Bearer%20[redacted]',
        version: '1.x',
        host: 'localhost:80',
        remoteAddress: '127.0.0.1',
      },
    ]);
    for (const key of [keys.readOnly, keys.admin]) {
      expect(lines.join('\n')).not.toContain(key.split('_')[3]!.slice(0, 16));
    }
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      orkestaAuth: 'function',
      requireScope: 'function',
      orkestaJwks: 'function',
      authErrorHandler: 'function',
      createAuthenticator: 'function',
    });
  });
});

describe('calledOnce', () => {
  it("passes the first call to Fastify's done and logs a later error instead", () => {
    const next = vi.fn();
    const error = vi.fn();
    const once = calledOnce(next, { log: { error } } as never);
    const first = new Error('first');
    once(first);
    once(new Error('later'));
    expect(next.mock.calls).toEqual([[first]]);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]![0]).toEqual({ err: new Error('later') });
  });
});
