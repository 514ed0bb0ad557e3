import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer } from 'node:net';
import { ConfigurationError } from '@orkesta/auth';
import { rateLimitRule } from '@orkesta/auth/store';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import { RateLimiterUnavailableError, RedisRateLimiter } from '../src/index.js';

const available = await serviceAvailable('redis');

const opened: Redis[] = [];
afterEach(() => {
  for (const redis of opened.splice(0)) redis.disconnect();
});

function connection(url = REDIS_URL): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  opened.push(redis);
  return redis;
}

function prefix(): string {
  return `orkesta-test:rate:${randomBytes(6).toString('hex')}:`;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
}

describe('RedisRateLimiter: options', () => {
  it.each([
    [undefined],
    [{ redis: {} }],
    [{ prefix: 7 }],
    [{ timeoutMs: 0 }],
    [{ onRedisFailure: 'open' }],
    [{ onFallback: 'log' }],
  ])('refuses %j', (options) => {
    const redis = new Redis({ lazyConnect: true });
    const given = options === undefined || 'redis' in options ? options : { redis, ...options };
    expect(() => new RedisRateLimiter(given as never)).toThrow(ConfigurationError);
    redis.disconnect();
  });
});

describe('RedisRateLimiter: misspelt options', () => {
  it.each<[string, string]>([
    ['timeout', 'timeoutMs'],
    ['prefx', 'prefix'],
    ['onFallBack', 'onFallback'],
    ['onRedisFailures', 'onRedisFailure'],
  ])('%s names itself and the option it likely meant', (option, suggestion) => {
    const redis = new Redis({ lazyConnect: true });
    try {
      new RedisRateLimiter({ redis, [option]: 1 } as never);
      expect.unreachable('a misspelt option was accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'ERR_ORKESTA_AUTH_CONFIG', option, suggestion });
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!available)('RedisRateLimiter against the real Redis', () => {
  const rule = rateLimitRule({ limit: 50, windowSeconds: 3_600 }, 'read-only', 'test');

  it('is exact across two connections under 200 concurrent takes: 50 admitted', async () => {
    const shared = prefix();
    const [a, b] = [connection(), connection()];
    await Promise.all([ready(a), ready(b)]);
    const limiters = [
      new RedisRateLimiter({ redis: a, prefix: shared }),
      new RedisRateLimiter({ redis: b, prefix: shared }),
    ];
    const decisions = await Promise.all(
      // The two instances' clocks disagree by two hours: Redis's clock decides.
      Array.from({ length: 200 }, (_, i) =>
        limiters[i % 2]!.take('key', rule, Date.now() + (i % 2 ? 3_600_000 : -3_600_000)),
      ),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((x, y) => x - y),
    ).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const refused = decisions.find((d) => !d.allowed)!;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(72_000);
  });

  it('the bucket expires in Redis once it is fully rested', async () => {
    const redis = connection();
    await ready(redis);
    const keys = prefix();
    const quick = rateLimitRule({ limit: 10, windowSeconds: 1 }, 'key', 'test');
    await new RedisRateLimiter({ redis, prefix: keys }).take('k', quick, Date.now());
    const ttl = await redis.pttl(`${keys}k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  it('falls back to in-process limiting when Redis is unreachable, and says so', async () => {
    const dead = connection('redis://127.0.0.1:1');
    const fallbacks: unknown[] = [];
    const limiter = new RedisRateLimiter({ redis: dead, onFallback: (e) => fallbacks.push(e) });
    const three = rateLimitRule({ limit: 3, windowSeconds: 60 }, 'key', 'test');
    const now = Date.now();
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take('k', three, now));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(fallbacks).toHaveLength(4);
    expect(fallbacks[0]).toBeInstanceOf(RateLimiterUnavailableError);
  });

  it("in 'unavailable' mode it rejects, so the authenticator answers 503", async () => {
    const dead = connection('redis://127.0.0.1:1');
    const limiter = new RedisRateLimiter({ redis: dead, onRedisFailure: 'unavailable' });
    await expect(limiter.take('k', rule, Date.now())).rejects.toBeInstanceOf(
      RateLimiterUnavailableError,
    );
  });

  it('a Redis that answers too slowly counts as failed', async () => {
    // A proxy to the real Redis that can stop passing replies back: a Redis that hangs.
    const target = new URL(REDIS_URL);
    let stalled = false;
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      client.on('data', (data) => upstream.write(data));
      upstream.on('data', (data) => {
        if (!stalled) client.write(data);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const redis = connection(`redis://127.0.0.1:${port}`);
    await ready(redis);
    const fallbacks: unknown[] = [];
    const limiter = new RedisRateLimiter({
      redis,
      prefix: prefix(),
      timeoutMs: 50,
      onFallback: (e) => fallbacks.push(e),
    });
    expect((await limiter.take('k', rule, Date.now())).allowed).toBe(true);
    expect(fallbacks).toEqual([]);
    stalled = true;
    const decision = await limiter.take('k', rule, Date.now());
    expect(decision.allowed).toBe(true);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toBeInstanceOf(RateLimiterUnavailableError);
    redis.disconnect();
    proxy.close();
  });
});
