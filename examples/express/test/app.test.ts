import type { Scope } from '@orkesta/auth-express';
import {
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  MemoryKeyStore,
  SCOPES,
  scopeSatisfies,
} from '@orkesta/auth-express';
import request from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { createPaymentsApp } from '../src/app.js';

async function demo() {
  const store = new MemoryKeyStore();
  const changeFeed = createLocalChangeFeed();
  const keys = createKeyManager({ store, changeFeed });
  const authenticator = createAuthenticator({ store, changeFeed, requireHttps: false });
  const app = createPaymentsApp({ authenticator, keys });
  const issue = async (workspaceId: string, scope: Scope) =>
    (await keys.create({ workspaceId, name: `${workspaceId}-${scope}`, scope })).key;
  const alpha = {
    'read-only': await issue('ws_alpha', 'read-only'),
    'read-write': await issue('ws_alpha', 'read-write'),
    admin: await issue('ws_alpha', 'admin'),
  };
  const beta = { admin: await issue('ws_beta', 'admin') };
  return { app, alpha, beta, store };
}

type Demo = Awaited<ReturnType<typeof demo>>;

const ROUTES: readonly { method: 'get' | 'post'; path: string; scope: Scope; body?: object }[] = [
  { method: 'get', path: '/v1/accounts', scope: 'read-only' },
  { method: 'get', path: '/v1/payments', scope: 'read-only' },
  { method: 'get', path: '/v1/reports', scope: 'read-only' },
  {
    method: 'post',
    path: '/v1/payments',
    scope: 'read-write',
    body: { accountId: 'acc_ws_alpha_main', amount: 10, description: 'coffee' },
  },
  {
    method: 'post',
    path: '/v1/webhooks',
    scope: 'read-write',
    body: { url: 'https://example.test/hook', events: ['payment.created'] },
  },
  { method: 'get', path: '/v1/workspace/settings', scope: 'admin' },
  { method: 'get', path: '/v1/api-keys', scope: 'admin' },
  {
    method: 'post',
    path: '/v1/api-keys',
    scope: 'admin',
    body: { name: 'ci', scope: 'read-only' },
  },
];

describe('the payments demo', () => {
  let d: Demo;
  beforeEach(async () => {
    d = await demo();
  });

  it('GET /health is public', async () => {
    const res = await request(d.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  const matrix = ROUTES.flatMap((route) => SCOPES.map((scope) => ({ ...route, keyScope: scope })));
  it.each(matrix)('$method $path with a $keyScope key', async (route) => {
    const call = request(d.app)
      [route.method](route.path)
      .set('Authorization', `Bearer ${d.alpha[route.keyScope]}`);
    const res = route.body === undefined ? await call : await call.send(route.body);
    if (scopeSatisfies(route.keyScope, route.scope)) {
      expect(res.status).toBe(route.method === 'post' ? 201 : 200);
    } else {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('insufficient_scope');
      expect(res.headers['www-authenticate']).toContain(`scope="${route.scope}"`);
    }
  });

  it.each(ROUTES)('$method $path without a key is 401 missing_api_key', async (route) => {
    const res = await request(d.app)[route.method](route.path);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('missing_api_key');
  });

  it("keeps each workspace's data to its own keys", async () => {
    const created = await request(d.app)
      .post('/v1/payments')
      .set('Authorization', `Bearer ${d.alpha['read-write']}`)
      .send({ accountId: 'acc_ws_alpha_main', amount: 42 });
    expect(created.status).toBe(201);

    const alphaPayments = await request(d.app)
      .get('/v1/payments')
      .set('Authorization', `Bearer ${d.alpha['read-only']}`);
    expect(alphaPayments.body.data.map((p: { id: string }) => p.id)).toEqual([created.body.id]);
    const betaPayments = await request(d.app)
      .get('/v1/payments')
      .set('Authorization', `Bearer ${d.beta.admin}`);
    expect(betaPayments.body.data).toEqual([]);

    // An account of another workspace cannot be paid from.
    const foreign = await request(d.app)
      .post('/v1/payments')
      .set('Authorization', `Bearer ${d.beta.admin}`)
      .send({ accountId: 'acc_ws_alpha_main', amount: 1 });
    expect(foreign.status).toBe(400);
    expect(foreign.body.code).toBe('invalid_request');

    const betaKeys = await request(d.app)
      .get('/v1/api-keys')
      .set('Authorization', `Bearer ${d.beta.admin}`);
    expect(betaKeys.body.data.map((k: { workspaceId: string }) => k.workspaceId)).toEqual([
      'ws_beta',
    ]);
  });

  it('creates a key, returns its plaintext once, and the key works at once', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const created = await request(d.app)
      .post('/v1/api-keys')
      .set('Authorization', admin)
      .send({ name: 'production-erp-integration', scope: 'read-write' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'production-erp-integration',
      scope: 'read-write',
      workspaceId: 'ws_alpha',
      status: 'active',
    });
    expect(created.body.key).toMatch(/^ork_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);

    const used = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${created.body.key}`);
    expect(used.status).toBe(200);

    const listed = await request(d.app).get('/v1/api-keys').set('Authorization', admin);
    expect(listed.text).not.toContain(created.body.key);
    expect(listed.text).not.toContain('sha256');
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
  });

  it('revokes a key: refused at once, and other keys keep working', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const victimId = d.alpha['read-only'].split('_')[2];
    const before = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${d.alpha['read-only']}`);
    expect(before.status).toBe(200);

    const revoked = await request(d.app)
      .delete(`/v1/api-keys/${victimId}`)
      .set('Authorization', admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');

    const after = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${d.alpha['read-only']}`);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('api_key_revoked');
    const other = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${d.alpha['read-write']}`);
    expect(other.status).toBe(200);
  });

  it('rotates a key: the successor works, the old key stops after the overlap (0 = now)', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const oldKey = d.alpha['read-write'];
    const oldId = oldKey.split('_')[2];
    const rotated = await request(d.app)
      .post(`/v1/api-keys/${oldId}/rotate`)
      .set('Authorization', admin);
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({
      scope: 'read-write',
      rotatedFromId: oldId,
      previous: { id: oldId },
    });

    const successor = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${rotated.body.key}`);
    expect(successor.status).toBe(200);
    const old = await request(d.app).get('/v1/accounts').set('Authorization', `Bearer ${oldKey}`);
    expect(old.status).toBe(401);
    expect(old.body.code).toBe('api_key_expired');
  });

  it('rotation with an overlap keeps the old key working during the window', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const oldKey = d.alpha['read-only'];
    const rotated = await request(d.app)
      .post(`/v1/api-keys/${oldKey.split('_')[2]}/rotate`)
      .set('Authorization', admin)
      .send({ overlapSeconds: 3600 });
    expect(rotated.status).toBe(201);
    expect(Date.parse(rotated.body.previous.expiresAt)).toBeGreaterThan(Date.now() + 3_500_000);
    const old = await request(d.app).get('/v1/accounts').set('Authorization', `Bearer ${oldKey}`);
    expect(old.status).toBe(200);
  });

  it("cannot revoke or rotate another workspace's key: 404, and the key keeps working", async () => {
    const betaId = d.beta.admin.split('_')[2];
    const admin = `Bearer ${d.alpha.admin}`;
    const revoke = await request(d.app)
      .delete(`/v1/api-keys/${betaId}`)
      .set('Authorization', admin);
    expect(revoke.status).toBe(404);
    expect(revoke.body.code).toBe('api_key_not_found');
    const rotate = await request(d.app)
      .post(`/v1/api-keys/${betaId}/rotate`)
      .set('Authorization', admin);
    expect(rotate.status).toBe(404);
    const still = await request(d.app)
      .get('/v1/accounts')
      .set('Authorization', `Bearer ${d.beta.admin}`);
    expect(still.status).toBe(200);
  });

  it('answers bad input with 400 problem+json', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const cases = [
      request(d.app)
        .post('/v1/api-keys')
        .set('Authorization', admin)
        .send({ name: 'x', scope: 'root' }),
      request(d.app)
        .post('/v1/api-keys')
        .set('Authorization', admin)
        .send({ name: '', scope: 'admin' }),
      request(d.app)
        .post('/v1/api-keys')
        .set('Authorization', admin)
        .send({ name: 'x', scope: 'admin', expiresAt: '2001-01-01T00:00:00Z' }),
      request(d.app)
        .post('/v1/api-keys')
        .set('Authorization', admin)
        .send({ name: 'x', scope: 'admin', expiresAt: 'tomorrow' }),
      request(d.app)
        .post('/v1/payments')
        .set('Authorization', admin)
        .send({ accountId: 'acc_ws_alpha_main', amount: -5 }),
      request(d.app).post('/v1/webhooks').set('Authorization', admin).send({ url: 'ftp://x' }),
      request(d.app)
        .post('/v1/payments')
        .set('Authorization', admin)
        .set('Content-Type', 'application/json')
        .send('{not json'),
      request(d.app)
        .post(`/v1/api-keys/${d.alpha.admin.split('_')[2]}/rotate`)
        .set('Authorization', admin)
        .send({ overlapSeconds: -1 }),
      request(d.app)
        .post(`/v1/api-keys/${d.alpha.admin.split('_')[2]}/rotate`)
        .set('Authorization', admin)
        .send({ overlapSeconds: 9e12 }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(['invalid_request', 'invalid_key_parameters']).toContain(res.body.code);
      expect(res.body).toEqual({
        type: `urn:orkesta-auth:error:${res.body.code}`,
        title: expect.any(String),
        status: 400,
        detail: expect.any(String),
        code: res.body.code,
      });
    }
  });

  it('rotating a revoked key is 409 api_key_not_active', async () => {
    const admin = `Bearer ${d.alpha.admin}`;
    const id = d.alpha['read-only'].split('_')[2];
    await request(d.app).delete(`/v1/api-keys/${id}`).set('Authorization', admin);
    const res = await request(d.app).post(`/v1/api-keys/${id}/rotate`).set('Authorization', admin);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('api_key_not_active');
    expect(res.body.detail).toEqual(expect.any(String));
  });

  it('unknown routes are 404 problem+json (after authentication)', async () => {
    const res = await request(d.app)
      .get('/v1/nothing')
      .set('Authorization', `Bearer ${d.alpha.admin}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});
