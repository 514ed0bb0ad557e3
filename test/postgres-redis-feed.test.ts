import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AuthResult,
  createAuthenticator,
  createKeyManager,
  type KeyChangeFeed,
} from '@orkesta/auth';
import { createRedisChangeFeed, type RedisChangeFeed } from '@orkesta/auth-redis';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { POSTGRES_URL, REDIS_URL, serviceAvailable } from './services.js';

// Both servers are needed; under CI either one missing fails loudly.
const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const codeOf = (result: AuthResult) => (result.ok ? 'ok' : result.error.code);

/** Polls `attempt` until it stops answering ok; the answer and how long it took. */
async function refusal(attempt: () => Promise<string>, limitMs: number) {
  const started = performance.now();
  for (;;) {
    const code = await attempt();
    const elapsedMs = performance.now() - started;
    if (code !== 'ok' || elapsedMs > limitMs) return { code, elapsedMs };
    await sleep(10);
  }
}

/**
 * One app instance as deployed: its own PostgreSQL pool on the shared schema, its own Redis
 * connection for the change feed, and an authenticator that listens to Redis, not to
 * PostgreSQL.
 */
async function instance(schema: string, channel: string) {
  const store = new PostgresKeyStore({ connectionString: POSTGRES_URL, schema, migrate: true });
  cleanup.push(() => store.close());
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  cleanup.push(() => redis.quit().catch(() => redis.disconnect()));
  const feed: RedisChangeFeed = createRedisChangeFeed({ redis, channel });
  cleanup.push(() => feed.close());
  await subscribed(feed);
  const auth = createAuthenticator({ store, changeFeed: feed, lastUsed: false });
  cleanup.push(() => auth.close());
  const manager = createKeyManager({ store, changeFeed: feed });
  return { store, feed, auth, manager };
}

/** Resolves once Redis has confirmed the feed's subscription. */
function subscribed(feed: KeyChangeFeed): Promise<void> {
  return new Promise((resolve) => {
    const stop = feed.subscribe(
      () => {},
      () => {
        stop();
        resolve();
      },
    );
  });
}

describe.skipIf(!available)(
  'two instances on one PostgreSQL database, changes through Redis',
  () => {
    async function setUp() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      cleanup.push(async () => {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      });
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
