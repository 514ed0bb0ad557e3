import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  createAuthenticator,
  createKeyManager,
  MemoryKeyStore,
  type RateLimitOptions,
} from '@orkesta/auth';
import { orkestaAuth } from '@orkesta/auth-express';
import { RedisRateLimiter, type RedisRateLimiterOptions } from '@orkesta/auth-redis';
import express from 'express';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from './http.js';
import { REDIS_URL, serviceAvailable } from './services.js';

const available = await serviceAvailable('redis');
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** One app instance: its own authenticator and its own Redis connection. */
async function instance(
  store: MemoryKeyStore,
  limiterOptions: Omit<RedisRateLimiterOptions, 'redis'>,
  scopes: RateLimitOptions['scopes'] = {},
  url = REDIS_URL,
): Promise<string> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  cleanup.push(() => redis.disconnect());
  if (url === REDIS_URL) await new Promise((resolve) => redis.once('ready', resolve));
  const authenticator = createAuthenticator({
    store,
    requireHttps: false,
    rateLimit: { scopes, limiter: new RedisRateLimiter({ redis, ...limiterOptions }) },
  });
  cleanup.push(() => authenticator.close());
  const app = express();
  app.use(orkestaAuth({ authenticator }));
  app.get('/v1/accounts', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function issue(store: MemoryKeyStore, rateLimit?: { limit: number; windowSeconds: number }) {
  return (
    await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'redis-limit',
      scope: 'read-only',
      ...(rateLimit === undefined ? {} : { rateLimit }),
    })
  ).key;
}

describe.skipIf(!available)('rate limits exact across instances through Redis', () => {
  it('two instances, 200 concurrent requests, a limit of 50: exactly 50 admitted', async () => {
    const store = new MemoryKeyStore();
    const prefix = `orkesta-test:${randomBytes(6).toString('hex')}:`;
    const scopes = { 'read-only': { limit: 50, windowSeconds: 3_600 } };
    const bases = [
      await instance(store, { prefix }, scopes),
      await instance(store, { prefix }, scopes),
    ];
    const key = await issue(store);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        send(bases[i % 2]!, { path: '/v1/accounts', headers: { Authorization: `Bearer ${key}` } }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(150);
    const refused = replies.find((r) => r.status === 429)!;
    expect((refused.json as { code: string }).code).toBe('rate_limit_exceeded');
    expect(refused.headers['ratelimit-policy']).toBe('"read-only";q=50;w=3600');
    expect(refused.headers.ratelimit).toMatch(/^"read-only";r=0;t=\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('Retry-After agrees with when the next request is admitted, on either instance', async () => {
    const store = new MemoryKeyStore();
    const prefix = `orkesta-test:${randomBytes(6).toString('hex')}:`;
    const [a, b] = [await instance(store, { prefix }), await instance(store, { prefix })];
    const key = await issue(store, { limit: 2, windowSeconds: 2 });
    const get = (base: string) =>
      send(base, { path: '/v1/accounts', headers: { Authorization: `Bearer ${key}` } });
    expect((await get(a)).status).toBe(200);
    expect((await get(b)).status).toBe(200);
    const refused = await get(a);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBe(1);
    expect((await get(b)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1_000));
    const admitted = await get(b);
    expect(admitted.status).toBe(200);
    expect(admitted.headers['ratelimit-policy']).toBe('"key";q=2;w=2');
  });

  it("with Redis unreachable: limited in process and reported by default; 503 in 'unavailable' mode", async () => {
    const store = new MemoryKeyStore();
    const key = await issue(store, { limit: 2, windowSeconds: 60 });
    const fallbacks: unknown[] = [];
    const closedPort = 'redis://127.0.0.1:1';
    const lenient = await instance(store, { onFallback: (e) => fallbacks.push(e) }, {}, closedPort);
    const strict = await instance(store, { onRedisFailure: 'unavailable' }, {}, closedPort);
    const get = (base: string) =>
      send(base, { path: '/v1/accounts', headers: { Authorization: `Bearer ${key}` } });
    expect([
      (await get(lenient)).status,
      (await get(lenient)).status,
      (await get(lenient)).status,
    ]).toEqual([200, 200, 429]);
    expect(fallbacks).toHaveLength(3);
    const down = await get(strict);
    expect(down.status).toBe(503);
    expect((down.json as { code: string }).code).toBe('auth_unavailable');
    expect(down.headers['retry-after']).toBe('5');
  });
});
