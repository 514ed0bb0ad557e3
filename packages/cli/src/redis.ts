import { ConfigurationError, combineChangeFeeds, type KeyChangeFeed } from '@orkesta/auth';
import { createRedisChangeFeed, type RedisChangeFeed, RedisRateLimiter } from '@orkesta/auth-redis';
import { Redis } from 'ioredis';

/** The environment variable naming the Redis the CLI and the demo share changes (and limits) on. */
export const REDIS_ENV = 'ORKESTA_AUTH_REDIS';

/**
 * The Redis URL `ORKESTA_AUTH_REDIS` names (`redis://` or `rediss://`), or undefined when it is
 * unset or empty. Anything else is a `ConfigurationError` naming the variable.
 */
export function resolveRedisUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env[REDIS_ENV];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `${REDIS_ENV} must be a redis://HOST:PORT[/DB] or rediss:// URL; got something that is not a URL`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigurationError(
      `${REDIS_ENV} must be a redis://HOST:PORT[/DB] or rediss:// URL; got a ${url.protocol} URL`,
    );
  }
  return raw;
}

/**
 * How messages name a Redis URL: scheme, host, port and database only. A password (in the user
 * part, or as ioredis also reads it, in the query string) and the user name are left out.
 */
export function redisLabel(url: string): string {
  const parsed = new URL(url);
  const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

/** A connection to Redis and what rides on it; `close()` ends them. */
export interface OpenedRedis {
  readonly redis: Redis;
  /** The Redis change feed on the default channel. */
  readonly changeFeed: RedisChangeFeed;
  /** How messages name it (no password). */
  readonly label: string;
  /** A limiter on this connection, exact across every process that shares the Redis. */
  limiter(options?: { onFallback?: (error: unknown) => void }): RedisRateLimiter;
  /**
   * `storeFeed` and the Redis feed as one (`combineChangeFeeds`): changes go out on both, and
   * are heard from both, so that a process told through either sees them.
   */
  changesWith(storeFeed: KeyChangeFeed | undefined): KeyChangeFeed;
  close(): Promise<void>;
}

/**
 * Opens a connection to the Redis at `url`, lazily: nothing is sent until it is used, and a Redis
 * that cannot be reached then is retried in the background (ioredis) while the calls that need
 * it fail or time out, each reported where it is made. `onError` is told of connection errors.
 */
export function openRedis(url: string, onError: (error: unknown) => void): OpenedRedis {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2_000 });
  redis.on('error', onError);
  const changeFeed = createRedisChangeFeed({
    redis,
    onError: (error) => onError(error),
  });
  let closed = false;
  return {
    redis,
    changeFeed,
    label: redisLabel(url),
    limiter: (options) =>
      new RedisRateLimiter({
        redis,
        ...(options?.onFallback === undefined ? {} : { onFallback: options.onFallback }),
      }),
    changesWith: (storeFeed) =>
      storeFeed === undefined ? changeFeed : combineChangeFeeds([storeFeed, changeFeed]),
    async close() {
      if (closed) return;
      closed = true;
      await changeFeed.close();
      // Not quit(): with Redis away it would wait for it; what was owed has timed out already.
      redis.disconnect();
    },
  };
}
