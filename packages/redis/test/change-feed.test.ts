import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  type AuthResult,
  ChangeFeedTimeoutError,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  MemoryKeyStore,
  StoreClosedError,
} from '@orkesta/auth';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Gate, openGate } from '../../../test/gate.js';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import {
  createRedisChangeFeed,
  DEFAULT_CHANGE_CHANNEL,
  type RedisChangeFeed,
} from '../src/index.js';

const available = await serviceAvailable('redis');

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
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

/**
 * Subscribes to `target` and resolves, once Redis confirmed the subscription, to what it heard
 * so far and `next(n)`: resolves once `n` changes have arrived in all. On a feed already
 * subscribed (`alreadySubscribed`), no confirmation comes, and none is awaited.
 */
async function recorder(target: RedisChangeFeed, alreadySubscribed = false) {
  const heard: (readonly string[])[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      if (heard.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const listener = (ids: readonly string[]) => {
    heard.push(ids);
    settle();
  };
  if (alreadySubscribed) target.subscribe(listener);
  else await subscribed(target, listener);
  return {
    heard,
    next: (count: number) =>
      next<void>(
        (resolve) => {
          waiters.push({ count, resolve });
          settle();
        },
        2_000,
        `change number ${count}`,
      ),
  };
}

/** The fields a caller switches on, of the ConfigurationError `run` throws. */
function refusal(run: () => unknown): Record<string, unknown> {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    const { code, option, suggestion } = error as ConfigurationError;
    return { code, option, suggestion };
  }
  throw new Error('expected a ConfigurationError');
}

describe('createRedisChangeFeed: options', () => {
  it.each<[string, string]>([
    ['chanel', 'channel'],
    ['onerror', 'onError'],
    ['redsi', 'redis'],
  ])('a misspelt option (%s) names itself and the option it likely meant', (option, suggestion) => {
    const redis = new Redis({ lazyConnect: true });
    try {
      expect(refusal(() => createRedisChangeFeed({ redis, [option]: 'x' } as never))).toEqual({
        code: 'ERR_ORKESTA_AUTH_CONFIG',
        option,
        suggestion,
      });
    } finally {
      redis.disconnect();
    }
  });

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
    // A's own message comes back from Redis; it must not be delivered a second time. Redis
    // sends a subscriber its messages in order, so the echo comes before a later one from B.
    const fromB = next<void>(
      (resolve) => {
        a.subscribe((ids) => {
          if (ids[0] === 'CCCCCCCCCCCC') resolve();
        });
      },
      1_000,
      'the change from B',
    );
    await b.publish(['CCCCCCCCCCCC']);
    await fromB;
    expect(heardByA).toEqual([['AAAAAAAAAAAA', 'BBBBBBBBBBBB'], ['CCCCCCCCCCCC']]);
  });

  it('other channels do not hear it', async () => {
    const otherChannel = uniqueChannel();
    const [a, other, neighbour] = [feed(uniqueChannel()), feed(otherChannel), feed(otherChannel)];
    const heard = await recorder(other);
    await a.publish(['AAAAAAAAAAAA']);
    // Redis sends a connection its messages in order: one published on A's channel before
    // this one on the other channel would have arrived first.
    await neighbour.publish(['ZZZZZZZZZZZZ']);
    await heard.next(1);
    expect(heard.heard).toEqual([['ZZZZZZZZZZZZ']]);
  });

  it("a throwing listener goes to onError as 'message'; the others, and another instance, still hear the change", async () => {
    const channel = uniqueChannel();
    const reports: [unknown, string][] = [];
    const onError = (error: unknown, context: { operation: string }) =>
      reports.push([error, context.operation]);
    const [a, b] = [feed(channel, connection(), onError), feed(channel, connection(), onError)];
    const boom = new Error('listener failed');
    for (const target of [a, b]) {
      await subscribed(target, () => {
        throw boom;
      });
    }
    // Subscribed after the throwing listener, so told after it.
    const heardByA = await recorder(a, true);
    const heardByB = await recorder(b, true);
    await a.publish(['AAAAAAAAAAAA']); // resolves: the throw stopped neither the others nor Redis
    expect(heardByA.heard).toEqual([['AAAAAAAAAAAA']]);
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([['AAAAAAAAAAAA']]);
    expect(reports).toEqual([
      [boom, 'message'],
      [boom, 'message'],
    ]);
  });

  it('a throwing listener without onError is a process warning, and the message is still published', async () => {
    const warned = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const channel = uniqueChannel();
    const [a, b] = [feed(channel), feed(channel)];
    const boom = new Error('listener failed');
    a.subscribe(() => {
      throw boom;
    });
    const heardByB = await recorder(b);
    await a.publish(['AAAAAAAAAAAA']);
    await heardByB.next(1);
    expect(heardByB.heard).toEqual([['AAAAAAAAAAAA']]);
    expect(warned).toHaveBeenCalledWith(boom, 'OrkestaAuthWarning');
  });

  it('publish after close rejects with ERR_ORKESTA_AUTH_STORE_CLOSED and sends nothing', async () => {
    const channel = uniqueChannel();
    const [closing, listener, neighbour] = [feed(channel), feed(channel), feed(channel)];
    const heard = await recorder(listener);
    await closing.close();
    await expect(closing.publish(['AAAAAAAAAAAA'])).rejects.toMatchObject({
      code: 'ERR_ORKESTA_AUTH_STORE_CLOSED',
    });
    // In order: had the closed feed published, its message would arrive before this one.
    await neighbour.publish(['ZZZZZZZZZZZZ']);
    await heard.next(1);
    expect(heard.heard).toEqual([['ZZZZZZZZZZZZ']]);
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
    // Each reset resolves the wait of the moment.
    let resetHeard: () => void = () => {};
    const firstReset = next<void>(
      (resolve) => {
        resetHeard = resolve;
        subscriber.subscribe(
          (ids) => heard.push(ids),
          () => resetHeard(),
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
        resetHeard = resolve;
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
    let reportedAll: () => void = () => {};
    const target = feed(channel, connection(), (_error, context) => {
      errors.push(context.operation);
      if (errors.length === 3) reportedAll();
    });
    const heard: (readonly string[])[] = [];
    await subscribed(target, (ids) => heard.push(ids));
    const raw = connection();
    const reported = next<void>(
      (resolve) => {
        reportedAll = resolve;
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
    expect(() => target.subscribe(() => {})).toThrow(StoreClosedError);
    expect(() => target.subscribe(() => {})).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_STORE_CLOSED' }),
    );
  });
});

describe.skipIf(!available)('createRedisChangeFeed through Redis outages', () => {
  /** A gate in front of the real Redis, and a client of the default options through it. */
  async function throughGate(): Promise<{ gate: Gate; redis: Redis }> {
    const gate = await openGate(REDIS_URL, 'forward');
    const redis = new Redis(gate.url, { lazyConnect: true });
    redis.on('error', () => {}); // the outages below are on purpose
    // disconnect, not quit: quit would wait for a Redis the gate may be keeping away.
    opened.push({ close: () => gate.close() }, { close: () => redis.disconnect() });
    await redis.connect();
    return { gate, redis };
  }

  async function managerOver(redis: Redis) {
    const store = new MemoryKeyStore();
    const errors: { error: unknown; keyIds: readonly string[] }[] = [];
    const changeFeed = createRedisChangeFeed({ redis, channel: uniqueChannel() });
    opened.push(changeFeed);
    const manager = createKeyManager({
      store,
      changeFeed,
      onError: (error, context) => errors.push({ error, keyIds: context.keyIds }),
    });
    return { store, manager, errors };
  }

  it.each([
    [
      'down (connections refused)',
      (gate: Gate) => {
        gate.mode = 'reset';
        gate.cut();
      },
    ],
    ['frozen (connections open, nothing answered)', (gate: Gate) => gate.stall()],
  ])(
    'with Redis %s, KeyManager returns within publishTimeoutMs, the change saved, onError told',
    async (_, outage) => {
      const { gate, redis } = await throughGate();
      const { store, manager, errors } = await managerOver(redis);
      outage(gate);
      const started = performance.now();
      const { record } = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
      await manager.revoke(record.id);
      const took = performance.now() - started;
      // Two calls, each bounded by the default 1 s; not the whole outage.
      expect(took).toBeLessThan(2 * 1_000 + 500);
      expect((await store.findById(record.id))?.revokedAt).toBeInstanceOf(Date);
      expect(errors.map((e) => e.keyIds)).toEqual([[record.id], [record.id]]);
      for (const { error } of errors) expect(error).toBeInstanceOf(ChangeFeedTimeoutError);
    },
  );

  it('a subscriber cut off: a key revoked meanwhile is refused within 1 s; once back, caches are emptied', async () => {
    const { gate, redis } = await throughGate();
    const channel = uniqueChannel();
    const store = new MemoryKeyStore();
    // Revocations elsewhere that this instance's feed cannot hear: no feed on this manager.
    const manager = createKeyManager({
      store,
      changeFeed: { publish() {}, subscribe: () => () => {} },
    });
    const subscriber = createRedisChangeFeed({ redis, channel });
    opened.push(subscriber);
    const events: string[] = [];
    const wait: { resolve?: () => void } = {};
    subscriber.subscribe(
      () => {},
      () => {
        events.push('reset');
        wait.resolve?.();
      },
      () => {
        events.push('interrupt');
        wait.resolve?.();
      },
    );
    const auth = createAuthenticator({ store, changeFeed: subscriber, lastUsed: false });
    // Trusts its entries through the outage, so that only the reset can make it ask again.
    const trusting = createAuthenticator({
      store,
      changeFeed: subscriber,
      lastUsed: false,
      cache: { ttlMs: 60_000, feedOutageTtlMs: 60_000 },
    });
    opened.push(auth, trusting);
    const event = (name: string) =>
      next<void>(
        (resolve) => {
          if (events.at(-1) === name) resolve();
          else wait.resolve = () => events.at(-1) === name && resolve();
        },
        5_000,
        name,
      );
    await event('reset');
    const a = await manager.create({ workspaceId: 'ws_1', name: 'a', scope: 'admin' });
    const b = await manager.create({ workspaceId: 'ws_1', name: 'b', scope: 'admin' });
    const request = (key: string) => ({ authorization: `Bearer ${key}`, secure: true });
    expect(codeOf(await auth.authenticate(request(a.key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(request(b.key)))).toBe('ok');
    expect(codeOf(await trusting.authenticate(request(b.key)))).toBe('ok');

    gate.mode = 'reset';
    gate.cut();
    await event('interrupt');
    const revokedAt = performance.now();
    await manager.revoke(a.record.id);
    let code = 'ok';
    while (code === 'ok' && performance.now() - revokedAt < 2_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      code = codeOf(await auth.authenticate(request(a.key)));
    }
    expect(code).toBe('api_key_revoked');
    expect(performance.now() - revokedAt).toBeLessThan(1_000 + 250);

    // Back: the feed resubscribes and the cache is emptied, so a change it missed is seen.
    await manager.revoke(b.record.id);
    expect(codeOf(await trusting.authenticate(request(b.key)))).toBe('ok'); // still trusted
    gate.mode = 'forward';
    await event('reset');
    expect(codeOf(await trusting.authenticate(request(b.key)))).toBe('api_key_revoked');
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ createRedisChangeFeed: 'function' });
  });
});
