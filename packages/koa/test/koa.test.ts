import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import request from 'supertest';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AuthError, AuthenticatedKey } from '../src/index.js';
import {
  Authenticator,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
  MemoryKeyStore,
  orkestaAuth,
  requireScope,
  serveJwks,
} from '../src/index.js';

async function storeWithKeys() {
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store });
  const issue = async (scope: 'read-only' | 'read-write' | 'admin') =>
    (await manager.create({ workspaceId: 'ws_1', name: `test-${scope}`, scope })).key;
  return {
    store,
    manager,
    keys: {
      readOnly: await issue('read-only'),
      readWrite: await issue('read-write'),
      admin: await issue('admin'),
    },
  };
}

const echo: Koa.Middleware = (ctx) => {
  ctx.body = { keyId: ctx.state.auth?.keyId, scope: ctx.state.auth?.scope };
};

const serve = (app: Koa) => request(app.callback());

describe('orkestaAuth() on Koa 3', () => {
  it('sets a typed, frozen, secret-free ctx.state.auth', async () => {
    const { store, keys } = await storeWithKeys();
    const app = new Koa();
    let seen: AuthenticatedKey | undefined;
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.use((ctx) => {
      expectTypeOf(ctx.state.auth).toEqualTypeOf<AuthenticatedKey | undefined>();
      seen = ctx.state.auth;
      ctx.body = ctx.state.auth;
    });
    const res = await serve(app).get('/').set('Authorization', `Bearer ${keys.readWrite}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      keyId: keys.readWrite.split('_')[2],
      workspaceId: 'ws_1',
      scope: 'read-write',
      environment: 'live',
      expiresAt: null,
    });
    expect(Object.isFrozen(seen)).toBe(true);
  });

  it('throttles by ctx.ip: X-Forwarded-For counts only with app.proxy', async () => {
    const { store, keys } = await storeWithKeys();
    const wrong = `Bearer ${keys.readOnly.slice(0, -1)}${keys.readOnly.endsWith('0') ? '1' : '0'}`;
    const failedAttempts = { limit: 1, windowSeconds: 60 };
    const app = (proxy: boolean) => {
      const koa = new Koa();
      koa.proxy = proxy;
      koa.use(orkestaAuth({ store, requireHttps: false, failedAttempts }));
      koa.use(echo);
      return serve(koa);
    };
    const untrusting = app(false);
    await untrusting.get('/').set('Authorization', wrong).set('X-Forwarded-For', '198.51.100.1');
    const spoofed = await untrusting
      .get('/')
      .set('Authorization', `Bearer ${keys.readOnly}`)
      .set('X-Forwarded-For', '198.51.100.2');
    expect(spoofed.status).toBe(429);
    expect(spoofed.body.code).toBe('too_many_failed_attempts');

    const trusting = app(true);
    await trusting.get('/').set('Authorization', wrong).set('X-Forwarded-For', '198.51.100.1');
    const other = await trusting
      .get('/')
      .set('Authorization', `Bearer ${keys.readOnly}`)
      .set('X-Forwarded-For', '198.51.100.2');
    expect(other.status).toBe(200);
  });

  it('answers failures as problem+json with the challenge, and scope through requireScope', async () => {
    const { store, keys } = await storeWithKeys();
    const app = new Koa();
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.use(requireScope('admin'));
    app.use(echo);
    const missing = await serve(app).get('/');
    expect(missing.status).toBe(401);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(JSON.parse(missing.text).code).toBe('missing_api_key');
    const scope = await serve(app).get('/').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(scope.status).toBe(403);
    expect(JSON.parse(scope.text).code).toBe('insufficient_scope');
    expect(scope.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="admin"',
    );
    expect(scope.text).not.toContain(keys.readOnly);
  });

  it('honours app.proxy: X-Forwarded-Proto counts only when the proxy is trusted', async () => {
    const { store, keys } = await storeWithKeys();
    for (const [proxy, status] of [
      [false, 403],
      [true, 200],
    ] as const) {
      const app = new Koa();
      app.proxy = proxy;
      app.use(orkestaAuth({ store }));
      app.use(echo);
      const res = await serve(app)
        .get('/')
        .set('Authorization', `Bearer ${keys.readOnly}`)
        .set('X-Forwarded-Proto', 'https');
      expect(res.status).toBe(status);
    }
  });

  it("onFailure: 'throw' hands Koa an error with status, expose, code and headers", async () => {
    const { store, keys } = await storeWithKeys();
    const seen: AuthError[] = [];
    const app = new Koa();
    app.use(async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error as AuthError);
        throw error;
      }
    });
    app.use(orkestaAuth({ store, requireHttps: false, onFailure: 'throw' }));
    app.use(requireScope('read-write'));
    app.use(echo);
    app.silent = true;
    // Koa's own error handling: the status and the challenge header, the message as text.
    const invalid = await serve(app).get('/').set('Authorization', 'Bearer nope');
    expect(invalid.status).toBe(401);
    expect(invalid.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(invalid.text).not.toContain('nope');
    const scope = await serve(app).get('/').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(scope.status).toBe(403);
    expect(seen.map((e) => [e.code, e.status, e.expose, e.headers?.['WWW-Authenticate']])).toEqual([
      ['invalid_api_key', 401, true, 'Bearer realm="api", error="invalid_token"'],
      [
        'insufficient_scope',
        403,
        true,
        'Bearer realm="api", error="insufficient_scope", scope="read-write"',
      ],
    ]);
  });

  it('requireScope without orkestaAuth refuses with 401, whatever ctx.state.auth holds', async () => {
    const app = new Koa();
    app.use((ctx, next) => {
      ctx.state.auth = {
        keyId: 'k',
        workspaceId: 'w',
        scope: 'admin',
        environment: 'live',
        expiresAt: null,
      };
      return next();
    });
    app.use(requireScope('read-only'));
    app.use(echo);
    const res = await serve(app).get('/');
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).code).toBe('missing_api_key');
  });

  it('a workspace resolver that throws admits nothing', async () => {
    const { store, keys } = await storeWithKeys();
    let reached = false;
    const app = new Koa();
    app.silent = true;
    app.use(
      orkestaAuth({
        store,
        requireHttps: false,
        workspace: () => {
          throw new Error('resolver bug');
        },
      }),
    );
    app.use(() => {
      reached = true;
    });
    const res = await serve(app).get('/').set('Authorization', `Bearer ${keys.admin}`);
    expect(res.status).toBe(500);
    expect(reached).toBe(false);
  });

  it('exposes the authenticator it built', () => {
    const middleware = orkestaAuth({ store: new MemoryKeyStore() });
    expect(middleware.authenticator).toBeInstanceOf(Authenticator);
  });

  it('refuses bad configuration at startup with a ConfigurationError', () => {
    const store = new MemoryKeyStore();
    const bad: (() => unknown)[] = [
      () => orkestaAuth(undefined as never),
      () => orkestaAuth({} as never),
      () => orkestaAuth({ store, onFailure: 'next' } as never),
      () => orkestaAuth({ store, workspace: 'ws_1' } as never),
      () => orkestaAuth({ authenticator: {} } as never),
      () => orkestaAuth({ authenticator: createAuthenticator({ store }), realm: 'x' } as never),
      () => requireScope('owner' as never),
    ];
    for (const make of bad) expect(make).toThrow(ConfigurationError);
  });
});

describe('Koa 2', () => {
  it('runs the same middleware: admits, refuses by scope and by key', async () => {
    // koa2 is koa@2 under an alias; its types are Koa 3's, close enough for a test.
    // @ts-expect-error: the alias has no declaration file of its own
    const { default: Koa2 } = (await import('koa2')) as { default: typeof Koa };
    const { store, keys } = await storeWithKeys();
    const app = new Koa2();
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.use(requireScope('read-write'));
    app.use(echo);
    const ok = await serve(app).get('/').set('Authorization', `Bearer ${keys.readWrite}`);
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('read-write');
    const scope = await serve(app).get('/').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(JSON.parse(scope.text).code).toBe('insufficient_scope');
    const missing = await serve(app).get('/');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');

    const throwing = new Koa2();
    throwing.silent = true;
    throwing.use(orkestaAuth({ store, requireHttps: false, onFailure: 'throw' }));
    throwing.use(echo);
    const thrown = await serve(throwing).get('/').set('Authorization', 'Bearer nope');
    expect(thrown.status).toBe(401);
    expect(thrown.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      orkestaAuth: 'function',
      requireScope: 'function',
      createAuthenticator: 'function',
    });
  });
});

describe('serveJwks() on Koa', () => {
  const signing = createSigningKeys({
    issuer: 'https://keys.example.com',
    audience: 'https://api.example.com',
    keys: [{ kid: 'k1', privateKey: generateSigningKey({ kid: 'k1' }).privateKey }],
  });

  it('answers GET and HEAD on /.well-known/jwks.json by default and passes everything else on', async () => {
    const app = new Koa();
    app.use(serveJwks(signing, { maxAgeSeconds: 60 }));
    app.use((ctx) => {
      ctx.body = 'next';
    });
    const res = await serve(app).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(JSON.parse(res.text)).toEqual(signing.jwks());
    const head = await serve(app).head('/.well-known/jwks.json');
    expect([head.status, head.text]).toEqual([200, undefined]);
    expect((await serve(app).post('/.well-known/jwks.json')).text).toBe('next');
    expect((await serve(app).get('/jwks.json')).text).toBe('next');
  });

  it('answers on another path, or on every path with path: false (behind a router)', async () => {
    const app = new Koa();
    app.use(serveJwks(signing.jwks(), { path: '/keys' }));
    expect((await serve(app).get('/keys')).status).toBe(200);
    expect((await serve(app).get('/.well-known/jwks.json')).status).toBe(404);
    const any = new Koa();
    any.use(serveJwks(signing, { path: false }));
    expect(JSON.parse((await serve(any).get('/whatever')).text)).toEqual(signing.jwks());
    expect((await serve(any).delete('/whatever')).status).toBe(404);
  });

  it('refuses a bad path or a set with private keys at startup', () => {
    expect(() => serveJwks(signing, { path: 'keys' })).toThrow(ConfigurationError);
    expect(() => serveJwks(signing, { path: 7 as never })).toThrow(ConfigurationError);
    const { privateKey } = generateSigningKey({ kid: 'p' });
    expect(() => serveJwks({ keys: [privateKey as never] })).toThrow(ConfigurationError);
  });
});
