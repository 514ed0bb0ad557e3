import { type AuthResult, createAuthenticator, createKeyManager } from '@orkesta/auth';
import { orkestaAuth, requireScope } from '@orkesta/auth-express';
import { RedisRateLimiter } from '@orkesta/auth-redis';
import { migrate } from '@orkesta/auth-store-postgres';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { send } from './http.js';
import { freshSchema, instanceConnections, listening, refusal, useCleanup } from './lifecycle.js';
import { POSTGRES_URL, serviceAvailable } from './services.js';

// Both servers are needed; under CI either one missing fails loudly.
const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

const cleanup = useCleanup();

const codeOf = (result: AuthResult) => (result.ok ? 'ok' : result.error.code);

/**
 * One app instance as deployed: its own PostgreSQL pool on the shared schema, its own Redis
 * connection for the change feed, and an authenticator that listens to Redis, not to
 * PostgreSQL.
 */
async function instance(schema: string, channel: string) {
  const { store, changeFeed: feed } = await instanceConnections(cleanup, schema, channel, {
    migrate: true,
  });
  const auth = createAuthenticator({ store, changeFeed: feed, lastUsed: false });
  cleanup.push(() => auth.close());
  const manager = createKeyManager({ store, changeFeed: feed });
  return { store, feed, auth, manager };
}

describe.skipIf(!available)(
  'two instances on one PostgreSQL database, changes through Redis',
  () => {
    async function setUp() {
      const schema = await freshSchema(cleanup);
      const channel = `orkesta-test:${schema}`;
      const a = await instance(schema, channel);
      const b = await instance(schema, channel);
      return { a, b };
    }

    it('a key revoked through one instance is refused by the other within 1 second', async () => {
      const { a, b } = await setUp();
      const { key, record } = await a.manager.create({
        workspaceId: 'ws_1',
        name: 'erp',
        scope: 'read-write',
      });
      const request = { authorization: `Bearer ${key}`, secure: true };
      expect(codeOf(await a.auth.authenticate(request))).toBe('ok');
      expect(codeOf(await b.auth.authenticate(request))).toBe('ok'); // cached by B for 30 s

      await a.manager.revoke(record.id);
      expect(codeOf(await a.auth.authenticate(request))).toBe('api_key_revoked');
      const seen = await refusal(async () => codeOf(await b.auth.authenticate(request)), 1_000);
      expect(seen.code).toBe('api_key_revoked');
      expect(seen.elapsedMs).toBeLessThan(1_000);
    });

    it('a key rotated with no overlap through one instance: the other refuses the old key and takes the new one', async () => {
      const { a, b } = await setUp();
      const { key, record } = await a.manager.create({
        workspaceId: 'ws_1',
        name: 'erp',
        scope: 'admin',
      });
      const request = { authorization: `Bearer ${key}`, secure: true };
      expect(codeOf(await b.auth.authenticate(request))).toBe('ok');

      const { issued } = await a.manager.rotate(record.id, { overlapMs: 0 });
      const seen = await refusal(async () => codeOf(await b.auth.authenticate(request)), 1_000);
      expect(seen.code).toBe('api_key_expired');
      expect(seen.elapsedMs).toBeLessThan(1_000);
      const next = await b.auth.authenticate({
        authorization: `Bearer ${issued.key}`,
        secure: true,
      });
      expect(next.ok && next.key.keyId).toBe(issued.record.id);
    });

    it('the PostgreSQL feed is not used when Redis carries the changes: no LISTEN connection opens', async () => {
      const { a } = await setUp();
      expect(a.store.changes.listening).toBe(false);
      await a.manager.create({ workspaceId: 'ws_1', name: 'x', scope: 'read-only' });
      expect(a.store.changes.listening).toBe(false);
    });
  },
);

describe.skipIf(!available)(
  "the README's several instances: PostgreSQL store, Redis feed and limiter, Express",
  () => {
    /** One Express instance set up as the README shows (a channel and prefix per test run). */
    async function server(schema: string, channel: string, prefix: string) {
      const { store, redis, changeFeed } = await instanceConnections(cleanup, schema, channel);
      const limiter = new RedisRateLimiter({ redis, prefix });
      const app = express();
      app.set('trust proxy', false);
      app.use(
        orkestaAuth({
          store,
          changeFeed,
          requireHttps: false,
          rateLimit: { scopes: { 'read-write': { limit: 100, windowSeconds: 60 } }, limiter },
        }),
      );
      app.get('/v1/payments', requireScope('read-write'), (_req, res) => {
        res.json({ ok: true });
      });
      const url = await listening(app.listen(0, '127.0.0.1'), cleanup);
      return { store, changeFeed, url, keys: createKeyManager({ store, changeFeed }) };
    }

    it('both instances share one limit of 100 a minute, and a revocation through one reaches the other within 1 second', async () => {
      const schema = await freshSchema(cleanup);
      await migrate({ connectionString: POSTGRES_URL, schema });
      const tag = `orkesta-test:${schema}`;
      const a = await server(schema, `${tag}:changes`, `${tag}:rate:`);
      const b = await server(schema, `${tag}:changes`, `${tag}:rate:`);

      const issued = await a.keys.create({ workspaceId: 'ws_1', name: 'erp', scope: 'read-write' });
      const get = (url: string) =>
        send(url, { path: '/v1/payments', headers: { authorization: `Bearer ${issued.key}` } });
      // Alternate between the instances until the first refusal. 100 a minute is a burst of
      // 100, then one more every 600 ms: the admitted count may exceed 100 only by what the
      // elapsed time refilled. Two limits that did not share would admit about 200.
      const started = performance.now();
      let admitted = 0;
      let refused: Awaited<ReturnType<typeof get>> | undefined;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const response = await get(i % 2 === 0 ? a.url : b.url);
        if (response.status === 200) admitted++;
        else refused = response;
      }
      const refilled = Math.floor((performance.now() - started) / 600);
      expect(admitted).toBeGreaterThanOrEqual(100);
      expect(admitted).toBeLessThanOrEqual(100 + refilled);
      if (refused === undefined) throw new Error('200 requests and no refusal');
      expect(refused.status).toBe(429);
      expect((refused.json as { code: string }).code).toBe('rate_limit_exceeded');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      await a.keys.revoke(issued.record.id);
      const seen = await refusal(async () => {
        const response = await get(b.url);
        return (response.json as { code?: string }).code ?? 'ok';
      }, 1_000);
      // Revocation is checked before the rate: the answer changes from 429 to 401.
      expect(seen.code).toBe('api_key_revoked');
      expect(seen.elapsedMs).toBeLessThan(1_000);
    });
  },
);
