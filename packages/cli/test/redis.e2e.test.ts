import { join } from 'node:path';
import { createRedisChangeFeed } from '@orkesta/auth-redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import { redisLabel } from '../src/redis.js';
import { tempDir } from './helpers.js';
import { cli, cliAsync, failed, json } from './run-cli.js';

const available = await serviceAvailable('redis');

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

/** A SQLite store in a temporary directory holding one key; its spec and the key's id. */
function storeWithKey() {
  const store = `sqlite:${join(tempDir(), 'keys.db')}`;
  const created = json<{ id: string }>(
    cli(['keys', 'create', '--workspace', 'ws_1', '--name', 'erp', '--scope', 'admin', '--json'], {
      env: { ORKESTA_AUTH_STORE: store },
    }),
  );
  return { store, id: created.id };
}

describe.skipIf(!available)('ORKESTA_AUTH_REDIS: changes also go out over Redis', () => {
  it('a revocation is published on the Redis channel the demo listens to', async () => {
    const { store, id } = storeWithKey();
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    const feed = createRedisChangeFeed({ redis });
    opened.push({ close: () => redis.quit() }, feed);
    const heard: string[] = [];
    let ready: () => void = () => {};
    const subscribed = new Promise<void>((resolve) => {
      ready = resolve;
    });
    let arrived: () => void = () => {};
    const revocation = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    feed.subscribe(
      (ids) => {
        heard.push(...ids);
        if (ids.includes(id)) arrived();
      },
      () => ready(),
    );
    await subscribed;
    const run = await cliAsync(['keys', 'revoke', id], {
      env: { ORKESTA_AUTH_STORE: store, ORKESTA_AUTH_REDIS: REDIS_URL },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    await revocation;
    expect(heard).toContain(id);
  });
});

describe('ORKESTA_AUTH_REDIS when Redis cannot be used', () => {
  it('Redis unreachable: the change is saved, exit 0, and one warning line says it was not sent', async () => {
    const { store, id } = storeWithKey();
    const env = { ORKESTA_AUTH_STORE: store, ORKESTA_AUTH_REDIS: 'redis://127.0.0.1:1' };
    const run = await cliAsync(['keys', 'revoke', id], { env });
    expect(run.status).toBe(0);
    const lines = run.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^orkesta-auth: warning: .*redis:\/\/127\.0\.0\.1:1/);
    const shown = json<{ status: string }>(
      cli(['keys', 'show', id, '--json'], { env: { ORKESTA_AUTH_STORE: store } }),
    );
    expect(shown.status).toBe('revoked');
  });

  it.each([['http://127.0.0.1:6379'], ['not a url']])(
    '%s: exit 2, naming the variable',
    (value) => {
      const { store, id } = storeWithKey();
      const line = failed(
        cli(['keys', 'revoke', id], {
          env: { ORKESTA_AUTH_STORE: store, ORKESTA_AUTH_REDIS: value },
        }),
        2,
      );
      expect(line).toContain('ORKESTA_AUTH_REDIS');
      const shown = json<{ status: string }>(
        cli(['keys', 'show', id, '--json'], { env: { ORKESTA_AUTH_STORE: store } }),
      );
      expect(shown.status).toBe('active');
    },
  );
});

describe('redisLabel', () => {
  it('names scheme, host, port and database; never a user, a password or the query', () => {
    expect(redisLabel('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redisLabel('rediss://app:s3cret@cache.internal:6380/2?password=other')).toBe(
      'rediss://***@cache.internal:6380/2',
    );
    expect(redisLabel('redis://cache.internal:6379/?password=other')).toBe(
      'redis://cache.internal:6379',
    );
  });
});
