import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  type AuthResult,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  MemoryKeyStore,
} from '@orkesta/auth';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import {
  createRedisChangeFeed,
  DEFAULT_CHANGE_CHANNEL,
  type RedisChangeFeed,
} from '../src/index.js';

const available = await serviceAvailable('redis');

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

function connection(name = 'orkesta-test'): Redis {
  const redis = new Redis(REDIS_URL, { connectionName: name, lazyConnect: true });
  opened.push({ close: () => redis.quit().catch(() => redis.disconnect()) });
  return redis;
}

function feed(
  channel: string,
  redis = connection(),
  onError?: (e: unknown, c: { operation: string }) => void,
): RedisChangeFeed {
  const created = createRedisChangeFeed({ redis, channel, ...(onError ? { onError } : {}) });
  opened.push(created);
  return created;
}

function uniqueChannel(): string {
  return `orkesta-test:${randomBytes(6).toString('hex')}`;
}

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

function next<T>(
  register: (resolve: (value: T) => void) => void,
  ms: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Resolves once the feed's subscription connection has been confirmed by Redis. */
function subscribed(
  target: RedisChangeFeed,
  listener: (ids: readonly string[]) => void = () => {},
): Promise<() => void> {
  let stop: (() => void) | undefined;
  return next<() => void>(
    (resolve) => {
      let first = true;
      stop = target.subscribe(listener, () => {
        if (first) {
          first = false;
          resolve(() => stop?.());
        }
      });
    },
    2_000,
    'the subscription',
  );
}

describe('createRedisChangeFeed: options', () => {
  it('refuses what is not an ioredis client, an empty channel, a bad onError', () => {
    const codeOfThrow = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof ConfigurationError ? 'configuration' : 'other';
      }
      return 'none';
    };
    expect(codeOfThrow(() => createRedisChangeFeed(undefined as never))).toBe('configuration');
    expect(codeOfThrow(() => createRedisChangeFeed({ redis: {} as never }))).toBe('configuration');
    const redis = new Redis({ lazyConnect: true });
    expect(codeOfThrow(() => createRedisChangeFeed({ redis, channel: '' }))).toBe('configuration');
    expect(codeOfThrow(() => createRedisChangeFeed({ redis, onError: 'log' as never }))).toBe(
      'configuration',
    );
    const made = createRedisChangeFeed({ redis });
    expect(made.channel).toBe(DEFAULT_CHANGE_CHANNEL);
    redis.disconnect();
  });
});

describe.skipIf(!available)('createRedisChangeFeed over the real Redis', () => {
  it('carries published ids to another instance, and to its own listeners exactly once', async () => {
    const channel = uniqueChannel();
    const [a, b] = [feed(channel), feed(channel)];
    const heardByA: (readonly string[])[] = [];
    const heardByB: (readonly string[])[] = [];
    await subscribed(a, (ids) => heardByA.push(ids));
    await subscribed(b, (ids) => heardByB.push(ids));
    const arrived = next<void>(
      (resolve) => {
        b.subscribe(() => resolve());
      },
      1_000,
      'the change',
    );
    await a.publish(['AAAAAAAAAAAA', 'BBBBBBBBBBBB']);
    expect(heardByA).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB']]); // at once, before Redis
    await arrived;
    expect(heardByB).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB']]);
    // A's own message comes back from Redis; it must not be delivered a second time.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heardByA).toHaveLength(1);
  });

  it('other channels do not hear it', async () => {
    const [a, other] = [feed(uniqueChannel()), feed(uniqueChannel())];
    const heard: (readonly string[])[] = [];
    await subscribed(other, (ids) => heard.push(ids));
    await a.publish(['AAAAAAAAAAAA']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([]);
  });

  it('two authenticators: a key revoked through one is refused by the other within 1 second', async () => {
    const channel = uniqueChannel();
    const store = new MemoryKeyStore();
    const [feedA, feedB] = [feed(channel), feed(channel)];
    const manager = createKeyManager({ store, changeFeed: feedA });
    const authA = createAuthenticator({ store, changeFeed: feedA, lastUsed: false });
    const authB = createAuthenticator({ store, changeFeed: feedB, lastUsed: false });
    opened.push(authA, authB);
    await subscribed(feedB);
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const request = { authorization: `Bearer ${key}`, secure: true };
    expect(codeOf(await authA.authenticate(request))).toBe('ok');
    expect(codeOf(await authB.authenticate(request))).toBe('ok'); // cached by both now

    const start = Date.now();
    await manager.revoke(record.id);
    expect(codeOf(await authA.authenticate(request))).toBe('api_key_revoked'); // at once
    let code = 'ok';
    while (code === 'ok' && Date.now() - start < 1_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      code = codeOf(await authB.authenticate(request));
    }
    expect(code).toBe('api_key_revoked');
  });

  it('after its connection is killed it resubscribes, resets subscribers, and hears changes again', async () => {
    const channel = uniqueChannel();
    const name = `orkesta-feed-${randomBytes(4).toString('hex')}`;
    const publisher = feed(channel);
    const subscriber = feed(channel, connection(name));
    const heard: (readonly string[])[] = [];
    let resets = 0;
    const firstReset = next<void>(
      (resolve) => {
        subscriber.subscribe(
          (ids) => heard.push(ids),
          () => {
            resets++;
            resolve();
          },
        );
      },
      2_000,
      'the first subscription',
    );
    await firstReset;

    const admin = connection('orkesta-admin');
    const clients = String(await admin.client('LIST'));
    const line = clients
      .split('\n')
      .find((l) => l.includes(`name=${name} `) && /\bsub=1\b/.test(l));
    const id = line?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    const reset = next<void>(
      (resolve) => {
        const before = resets;
        const timer = setInterval(() => {
          if (resets > before) {
            clearInterval(timer);
            resolve();
          }
        }, 10);
      },
      5_000,
      'the reset after reconnecting',
    );
    await admin.client('KILL', 'ID', String(id));
    await reset;

    const arrived = next<void>(
      (resolve) => {
        subscriber.subscribe(() => resolve());
      },
      1_000,
      'the change after reconnecting',
    );
    await publisher.publish(['CCCCCCCCCCCC']);
    await arrived;
    expect(heard).toEqual([['CCCCCCCCCCCC']]);
  });

  it('a malformed message is reported and ignored, not thrown', async () => {
    const channel = uniqueChannel();
    const errors: string[] = [];
    const target = feed(channel, connection(), (_error, context) => errors.push(context.operation));
    const heard: (readonly string[])[] = [];
    await subscribed(target, (ids) => heard.push(ids));
    const raw = connection();
    const reported = next<void>(
      (resolve) => {
        const timer = setInterval(() => {
          if (errors.length === 3) {
            clearInterval(timer);
            resolve();
          }
        }, 10);
      },
      1_000,
      'the reports',
    );
    await raw.publish(channel, 'not json');
    await raw.publish(channel, JSON.stringify({ o: 'x', ids: [1, 2] }));
    await raw.publish(channel, JSON.stringify(null));
    await reported;
    expect(errors).toEqual(['message', 'message', 'message']);
    expect(heard).toEqual([]);
  });

  it('publish rejects when Redis cannot be reached, so the key manager can report it', async () => {
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    opened.push({ close: () => dead.disconnect() });
    const store = new MemoryKeyStore();
    const reported: (readonly string[])[] = [];
    const deadFeed = createRedisChangeFeed({ redis: dead, channel: uniqueChannel() });
    const manager = createKeyManager({
      store,
      changeFeed: deadFeed,
      onError: (_error, context) => reported.push(context.keyIds),
    });
    const { record } = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    await expect(deadFeed.publish(['AAAAAAAAAAAA'])).rejects.toBeInstanceOf(Error);
    expect(reported).toEqual([[record.id]]);
  });

  it('unsubscribing the last listener closes the subscription connection; close() ends it for good', async () => {
    const channel = uniqueChannel();
    const name = `orkesta-unsub-${randomBytes(4).toString('hex')}`;
    const target = feed(channel, connection(name));
    const stop = await subscribed(target);
    const admin = connection('orkesta-admin');
    const count = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((l) => l.includes(`name=${name} `) && /\bsub=1\b/.test(l)).length;
    expect(await count()).toBe(1);
    stop();
    await next<void>(
      (resolve) => {
        const timer = setInterval(async () => {
          if ((await count()) === 0) {
            clearInterval(timer);
            resolve();
          }
        }, 20);
      },
      2_000,
      'the connection closing',
    );
    await target.close();
    expect(() => target.subscribe(() => {})).toThrow(ConfigurationError);
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ createRedisChangeFeed: 'function' });
  });
});
