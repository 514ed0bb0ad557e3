import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  banner,
  clusterSettings,
  DEMO_RATE_LIMITS,
  DemoConfigurationError,
  demoSettings,
  QuietErrorLog,
  workerCount,
} from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('QuietErrorLog: one line per kind of failure, never a stack', () => {
  it('writes the first at once, counts the rest, and writes the count once per period', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = new QuietErrorLog((line) => lines.push(line), 5_000);
    const timeout = Object.assign(new Error('the key store did not answer within 2000 ms'), {
      code: 'ERR_ORKESTA_AUTH_STORE_TIMEOUT',
    });
    for (let i = 0; i < 100; i++) log.report('lookup failed', timeout);
    log.report('rate-limit failed', new Error('connection refused\n    at Socket.x (net.js:1)'));
    expect(lines).toEqual([
      '[auth] lookup failed: Error (ERR_ORKESTA_AUTH_STORE_TIMEOUT): the key store did not answer within 2000 ms',
      '[auth] rate-limit failed: Error: connection refused',
    ]);
    vi.advanceTimersByTime(4_999);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(lines.slice(2)).toEqual([
      '[auth] lookup failed: Error (ERR_ORKESTA_AUTH_STORE_TIMEOUT): the key store did not answer within 2000 ms (99 more in the last 5 s)',
    ]);
    // Still failing: the next period counts again; a quiet period writes nothing.
    log.report('lookup failed', timeout);
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(5_000);
    expect(lines.at(-1)).toMatch(/\(1 more in the last 5 s\)$/);
    vi.advanceTimersByTime(5_000);
    expect(lines).toHaveLength(4);
    // Once quiet for a period, the next one is written at once again.
    log.report('lookup failed', timeout);
    expect(lines).toHaveLength(5);
    log.report('lookup failed', timeout);
    log.close();
    expect(lines.at(-1)).toMatch(/\(1 more\)$/);
  });

  it('writes what is not an Error as its first line', () => {
    const lines: string[] = [];
    const log = new QuietErrorLog((line) => lines.push(line));
    log.report('publish failed', 'down\nmore');
    log.close();
    expect(lines).toEqual(['[auth] publish failed: down']);
  });
});

describe('demoSettings and clusterSettings', () => {
  const store = { ORKESTA_AUTH_STORE: 'sqlite:/tmp/keys.db' };

  it('takes ORKESTA_AUTH_REDIS when it is a redis:// URL, and refuses anything else', () => {
    expect(demoSettings({ ...store, ORKESTA_AUTH_REDIS: 'redis://127.0.0.1:6379' }).redisUrl).toBe(
      'redis://127.0.0.1:6379',
    );
    expect(demoSettings(store).redisUrl).toBeUndefined();
    expect(() => demoSettings({ ...store, ORKESTA_AUTH_REDIS: 'http://127.0.0.1:6379' })).toThrow(
      /ORKESTA_AUTH_REDIS/,
    );
  });

  it('a cluster needs Redis, and WORKERS from 1 to 64 (default 2)', () => {
    const redis = { ...store, ORKESTA_AUTH_REDIS: 'redis://127.0.0.1:6379' };
    expect(clusterSettings(redis).workers).toBe(2);
    expect(clusterSettings({ ...redis, WORKERS: '4' }).workers).toBe(4);
    expect(() => clusterSettings(store)).toThrow(DemoConfigurationError);
    for (const workers of ['0', '65', '2.5', 'two', '-1']) {
      expect(() => workerCount({ WORKERS: workers }), workers).toThrow(DemoConfigurationError);
    }
  });
});

describe('the banner states the rate limits and what is shared', () => {
  const base = {
    framework: 'Express',
    url: 'http://127.0.0.1:3000',
    store: 'sqlite:/repo/.orkesta/keys.db',
    storeFromEnv: false,
    start: { admins: [] },
  };

  it('every scope with its limit, kept in this process without Redis', () => {
    const lines = banner(base);
    const line = lines.find((l) => l.startsWith('Rate limits per key:'));
    for (const [scope, rate] of Object.entries(DEMO_RATE_LIMITS)) {
      expect(line).toContain(`${scope} ${rate.limit}/${rate.windowSeconds}s`);
    }
    expect(line).toContain('kept in this process');
    expect(lines.some((l) => l.startsWith('Redis:'))).toBe(false);
  });

  it('with Redis and workers: both named, the limits exact across instances', () => {
    const lines = banner({ ...base, redis: 'redis://127.0.0.1:6379', workers: 3 });
    expect(lines).toContain(
      "Redis: redis://127.0.0.1:6379 (rate limits, and changes as well as the store's own feed)",
    );
    expect(lines.find((l) => l.startsWith('Rate limits per key:'))).toContain(
      'kept in Redis, exact across instances',
    );
    expect(lines.some((l) => l.startsWith('3 worker processes on one port'))).toBe(true);
  });
});
