import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import request from 'supertest';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AuthError, AuthenticatedKey } from '../src/index.js';
import {
  Authenticator,
  authErrorHandler,
  ConfigurationError,
  createAuthenticator,
  createSigningKeys,
  generateSigningKey,
  MemoryKeyStore,
  orkestaAuth,
  requireScope,
  serveJwks,
} from '../src/index.js';
import { storeWithKeys } from './helpers.js';

const echo = (req: Request, res: Response) => {
  res.json({ keyId: req.auth?.keyId, scope: req.auth?.scope });
};

describe('orkestaAuth() on Express 5', () => {
  it('builds its own authenticator from options and sets a typed, secret-free req.auth', async () => {
    const { store, keys } = await storeWithKeys();
    const app = express();
    app.use(orkestaAuth({ store, requireHttps: false }));
    let seen: AuthenticatedKey | undefined;
    app.get('/me', (req, res) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthenticatedKey | undefined>();
      seen = req.auth;
      res.json(req.auth);
    });
    const res = await request(app).get('/me').set('Authorization', `Bearer ${keys.readWrite}`);
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

  it('honours trust proxy: X-Forwarded-Proto counts only from a trusted proxy', async () => {
    const { store, keys } = await storeWithKeys();
    const authorization = `Bearer ${keys.readOnly}`;
    const untrusting = express();
    untrusting.use(orkestaAuth({ store }));
    untrusting.get('/r', echo);
    const refused = await request(untrusting)
      .get('/r')
      .set('Authorization', authorization)
      .set('X-Forwarded-Proto', 'https');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('https_required');

    const trusting = express();
    trusting.set('trust proxy', 'loopback');
    trusting.use(orkestaAuth({ store }));
    trusting.get('/r', echo);
    const admitted = await request(trusting)
      .get('/r')
      .set('Authorization', authorization)
      .set('X-Forwarded-Proto', 'https');
    expect(admitted.status).toBe(200);
  });

  it('throttles by the address Express gives: a raw X-Forwarded-For counts only from a trusted proxy', async () => {
    const { store, keys } = await storeWithKeys();
    const wrong = `Bearer ${keys.readOnly.slice(0, -1)}${keys.readOnly.endsWith('0') ? '1' : '0'}`;
    const failedAttempts = { limit: 1, windowSeconds: 60 };
    // Not trusting: every request is the socket's address, whatever X-Forwarded-For claims.
    const untrusting = express();
    untrusting.use(orkestaAuth({ store, requireHttps: false, failedAttempts }));
    untrusting.get('/r', echo);
    await request(untrusting)
      .get('/r')
      .set('Authorization', wrong)
      .set('X-Forwarded-For', '198.51.100.1');
    const spoofed = await request(untrusting)
      .get('/r')
      .set('Authorization', `Bearer ${keys.readOnly}`)
      .set('X-Forwarded-For', '198.51.100.2');
    expect(spoofed.status).toBe(429);
    expect(spoofed.body.code).toBe('too_many_failed_attempts');
    expect(Number(spoofed.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Trusting the loopback proxy: its X-Forwarded-For names the client.
    const trusting = express();
    trusting.set('trust proxy', 'loopback');
    trusting.use(orkestaAuth({ store, requireHttps: false, failedAttempts }));
    trusting.get('/r', echo);
    await request(trusting)
      .get('/r')
      .set('Authorization', wrong)
      .set('X-Forwarded-For', '198.51.100.1');
    const other = await request(trusting)
      .get('/r')
      .set('Authorization', `Bearer ${keys.readOnly}`)
      .set('X-Forwarded-For', '198.51.100.2');
    expect(other.status).toBe(200);
    // Another key: the read-only one, verified just now, would pass as remembered.
    const same = await request(trusting)
      .get('/r')
      .set('Authorization', `Bearer ${keys.admin}`)
      .set('X-Forwarded-For', '198.51.100.1');
    expect(same.status).toBe(429);
  });

  it("onFailure: 'next' hands the AuthError, with its headers, to the error middleware", async () => {
    const { store, keys } = await storeWithKeys();
    const seen: AuthError[] = [];
    const app = express();
    app.use(orkestaAuth({ store, requireHttps: false, onFailure: 'next' }));
    app.post('/pay', requireScope('read-write'), echo);
    app.use((err: AuthError, _req: Request, _res: Response, next: NextFunction) => {
      seen.push(err);
      next(err);
    });
    app.use(authErrorHandler());

    const missing = await request(app).post('/pay');
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('missing_api_key');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);

    const scope = await request(app).post('/pay').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(scope.status).toBe(403);
    expect(scope.body.code).toBe('insufficient_scope');
    expect(seen.map((e) => [e.code, e.status, e.headers?.['WWW-Authenticate']])).toEqual([
      ['missing_api_key', 401, 'Bearer realm="api"'],
      [
        'insufficient_scope',
        403,
        'Bearer realm="api", error="insufficient_scope", scope="read-write"',
      ],
    ]);
  });

  it("onFailure: 'next' works with Express's own error handler: status and challenge header", async () => {
    const { store } = await storeWithKeys();
    const app = express();
    app.use(orkestaAuth({ store, requireHttps: false, onFailure: 'next' }));
    app.get('/r', echo);
    const res = await request(app).get('/r').set('Authorization', 'Bearer nope');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(res.text).not.toContain('nope');
  });

  it('authErrorHandler passes errors that are not AuthErrors on', async () => {
    const app = express();
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.use(authErrorHandler());
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(599).json({ passed: err.message });
    });
    const res = await request(app).get('/boom');
    expect(res.status).toBe(599);
    expect(res.body).toEqual({ passed: 'boom' });
  });

  it('requireScope without orkestaAuth refuses with 401 rather than admitting', async () => {
    const app = express();
    // Even a req.auth that something else put there does not count without orkestaAuth.
    app.use((req, _res, next) => {
      req.auth = {
        keyId: 'k',
        workspaceId: 'w',
        scope: 'admin',
        environment: 'live',
        expiresAt: null,
      };
      next();
    });
    app.get('/r', requireScope('read-only'), echo);
    const res = await request(app).get('/r');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('missing_api_key');
  });

  it('two middlewares sharing one authenticator each refuse in their own way', async () => {
    const { store, keys } = await storeWithKeys();
    const authenticator = createAuthenticator({ store, requireHttps: false, realm: 'shared' });
    const app = express();
    // /api answers refusals itself; /pages hands them to the error middleware, which wraps them.
    app.use('/api', orkestaAuth({ authenticator }));
    app.use('/pages', orkestaAuth({ authenticator, onFailure: 'next' }));
    app.get('/api/admin', requireScope('admin'), echo);
    app.get('/pages/admin', requireScope('admin'), echo);
    app.use((err: AuthError, _req: Request, res: Response, _next: NextFunction) => {
      res.status(599).json({ wrapped: err.code });
    });
    const readOnly = `Bearer ${keys.readOnly}`;
    // The same key, so the same principal object, through both; interleaved.
    for (let i = 0; i < 3; i++) {
      const api = await request(app).get('/api/admin').set('Authorization', readOnly);
      expect(api.status).toBe(403);
      expect(api.body.code).toBe('insufficient_scope');
      expect(api.headers['www-authenticate']).toMatch(/^Bearer realm="shared"/);
      const pages = await request(app).get('/pages/admin').set('Authorization', readOnly);
      expect(pages.status).toBe(599);
      expect(pages.body).toEqual({ wrapped: 'insufficient_scope' });
    }
    const admitted = await request(app)
      .get('/pages/admin')
      .set('Authorization', `Bearer ${keys.admin}`);
    expect(admitted.status).toBe(200);
  });

  it('a workspace resolver that throws admits nothing', async () => {
    const { store, keys } = await storeWithKeys();
    const app = express();
    let reached = false;
    app.use(
      orkestaAuth({
        store,
        requireHttps: false,
        workspace: () => {
          throw new Error('resolver bug');
        },
      }),
    );
    app.get('/r', (_req, res) => {
      reached = true;
      res.json({});
    });
    const res = await request(app).get('/r').set('Authorization', `Bearer ${keys.admin}`);
    expect(res.status).toBe(500);
    expect(reached).toBe(false);
  });

  it('exposes the authenticator it built, for close() and invalidate()', async () => {
    const { store, keys, manager } = await storeWithKeys();
    const middleware = orkestaAuth({ store, requireHttps: false, cache: { ttlMs: 3_600_000 } });
    expect(middleware.authenticator).toBeInstanceOf(Authenticator);
    const app = express();
    app.use(middleware);
    app.get('/r', echo);
    expect((await request(app).get('/r').set('Authorization', `Bearer ${keys.admin}`)).status).toBe(
      200,
    );
    await middleware.authenticator.close();
    // After close() it no longer hears the store's feed; invalidate() still forces a lookup.
    await manager.revoke(keys.admin.split('_')[2]!);
    middleware.authenticator.invalidate(keys.admin.split('_')[2]!);
    const revoked = await request(app).get('/r').set('Authorization', `Bearer ${keys.admin}`);
    expect(revoked.body.code).toBe('api_key_revoked');
  });

  it('reads req.ip, req.path and req.secure only when something needs them', async () => {
    const { store, keys } = await storeWithKeys();
    const reads: string[] = [];
    const rejected: (string | undefined)[] = [];
    const spy = (req: Request, _res: Response, next: NextFunction) => {
      for (const name of ['ip', 'path', 'secure'] as const) {
        const proto = Object.getPrototypeOf(req) as object;
        const getter =
          Object.getOwnPropertyDescriptor(Object.getPrototypeOf(proto), name)?.get ??
          Object.getOwnPropertyDescriptor(proto, name)?.get;
        Object.defineProperty(req, name, {
          get() {
            reads.push(name);
            return getter?.call(req);
          },
        });
      }
      next();
    };
    const quiet = express();
    quiet.use(spy, orkestaAuth({ store, requireHttps: false }));
    quiet.get('/r', requireScope('read-only'), echo);
    expect(
      (await request(quiet).get('/r').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(200);
    expect(reads).toEqual([]);

    const audited = express();
    audited.use(
      spy,
      orkestaAuth({ store, hooks: { onRejected: (event) => rejected.push(event.ip) } }),
    );
    audited.get('/admin', requireScope('admin'), echo);
    const refused = await request(audited)
      .get('/admin')
      .set('Authorization', `Bearer ${keys.readOnly}`);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('https_required');
    expect(reads).toEqual(['secure', 'ip', 'path']);
    expect(rejected).toEqual([expect.stringMatching(/127\.0\.0\.1/)]);
  });

  it('uses the realm of its authenticator in every challenge', async () => {
    const { store, keys } = await storeWithKeys();
    const authenticator = createAuthenticator({ store, requireHttps: false, realm: 'pay "ments"' });
    const app = express();
    app.use(orkestaAuth({ authenticator }));
    app.get('/admin', requireScope('admin'), echo);
    const res = await request(app).get('/admin').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="pay \\"ments\\"", error="insufficient_scope", scope="admin"',
    );
  });

  it('refuses bad configuration at startup with a ConfigurationError', () => {
    const store = new MemoryKeyStore();
    const bad: (() => unknown)[] = [
      () => orkestaAuth(undefined as never),
      () => orkestaAuth({} as never),
      () => orkestaAuth({ store: { findById: 1 } } as never),
      () => orkestaAuth({ store, onFailure: 'throw' } as never),
      () => orkestaAuth({ store, workspace: 'ws_1' } as never),
      () => orkestaAuth({ authenticator: {} } as never),
      () =>
        orkestaAuth({
          authenticator: createAuthenticator({ store }),
          requireHttps: false,
        } as never),
      () => orkestaAuth({ store, requireHttps: 'yes' } as never),
      () => requireScope('superuser' as never),
      () => requireScope(undefined as never),
    ];
    for (const make of bad) expect(make).toThrow(ConfigurationError);
  });
});

describe('serveJwks() on Express', () => {
  const signing = createSigningKeys({
    issuer: 'https://keys.example.com',
    audience: 'https://api.example.com',
    keys: [{ kid: 'k1', privateKey: generateSigningKey({ kid: 'k1' }).privateKey }],
  });

  it('answers GET and HEAD with the JWKS, its type and caching, before orkestaAuth()', async () => {
    const { store } = await storeWithKeys();
    const app = express();
    app.get('/.well-known/jwks.json', serveJwks(signing, { maxAgeSeconds: 120 }));
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.get('/me', echo);
    const res = await request(app).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.headers['cache-control']).toBe('public, max-age=120');
    expect(JSON.parse(res.text)).toEqual(signing.jwks());
    const head = await request(app).head('/.well-known/jwks.json');
    expect([head.status, head.text]).toEqual([200, undefined]);
    expect((await request(app).get('/me')).status).toBe(401);
  });

  it('serves a plain JWKS, and refuses one with private keys at startup', async () => {
    const app = express();
    app.get('/jwks', serveJwks(signing.jwks()));
    expect(JSON.parse((await request(app).get('/jwks')).text)).toEqual(signing.jwks());
    const { privateKey } = generateSigningKey({ kid: 'p' });
    expect(() => serveJwks({ keys: [privateKey as never] })).toThrow(ConfigurationError);
  });
});

describe('Express 4', () => {
  it('runs the same middleware: admits, refuses by scope and by key', async () => {
    // express4 is express@4 under an alias; its types are express 5's, close enough for a test.
    // @ts-expect-error: the alias has no declaration file of its own
    const { default: express4 } = (await import('express4')) as { default: typeof express };
    const { store, keys } = await storeWithKeys();
    const app = express4();
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.get('/r', requireScope('read-only'), echo);
    app.post('/w', requireScope('read-write'), echo);

    const ok = await request(app).get('/r').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('read-only');
    const scope = await request(app).post('/w').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(scope.status).toBe(403);
    expect(scope.body.code).toBe('insufficient_scope');
    const missing = await request(app).get('/r');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    const invalid = await request(app).get('/r').set('Authorization', `Bearer ${keys.readOnly}x`);
    expect(invalid.body.code).toBe('invalid_api_key');
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require() (Node 20.19+ loads ESM synchronously)', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      orkestaAuth: 'function',
      requireScope: 'function',
      createAuthenticator: 'function',
    });
  });
});
