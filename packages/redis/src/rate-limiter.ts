import { ConfigurationError, MemoryRateLimiter } from '@orkesta/auth';
import {
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitRule,
  rejectUnknownOptions,
} from '@orkesta/auth/store';
import type { Redis } from 'ioredis';

/**
 * GCRA in one atomic step, on Redis's own clock, so that every instance judges by the same
 * time. KEYS[1] holds the bucket's theoretical arrival time in ms; it expires when the bucket
 * is fully rested, which is the same as never having been seen. Sums are offsets from now
 * (epoch milliseconds are too large for sub-millisecond sums to stay exact), and numbers travel
 * as strings: Redis would truncate a Lua float reply to an integer.
 */
const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
local behind = 0
if tat ~= nil and tat > now then behind = tat - now end
local ahead = behind + interval
if ahead > tolerance then
  return {0, 0, tostring(behind), tostring(ahead - tolerance)}
end
redis.call('SET', KEYS[1], string.format('%.17g', now + ahead), 'PX', math.ceil(ahead))
return {1, math.floor((tolerance - ahead) / interval + 1e-9), tostring(ahead), '0'}
`;

export const DEFAULT_RATE_PREFIX = 'orkesta-auth:rate:';

export interface RedisRateLimiterOptions {
  /** The connection to run the script on. The limiter never closes it. */
  readonly redis: Redis;
  /** Prefix of the limiter's Redis keys. Default `orkesta-auth:rate:`. */
  readonly prefix?: string;
  /** A Redis answer slower than this counts as a failure. Default 100 ms. */
  readonly timeoutMs?: number;
  /**
   * What to do when Redis fails, is slow, or is not connected: `'memory'` (default) limits in
   * this process meanwhile, exact per instance only; `'unavailable'` fails the request with
   * 503 `auth_unavailable`.
   */
  readonly onRedisFailure?: 'memory' | 'unavailable';
  /**
   * Told of every request limited in process because Redis could not answer (`'memory'`
   * mode), with the error. Fallbacks are rare and worth an alert: the limit is then no longer
   * exact across instances.
   */
  readonly onFallback?: (error: unknown) => void;
}

const OPTION_NAMES: readonly (keyof RedisRateLimiterOptions)[] = [
  'redis',
  'prefix',
  'timeoutMs',
  'onRedisFailure',
  'onFallback',
];

type ScriptReply = [number, number, string, string];

interface RedisWithGcra extends Redis {
  orkestaAuthGcra(key: string, intervalMs: string, toleranceMs: string): Promise<ScriptReply>;
}

/** Thrown (in `'unavailable'` mode, to the authenticator's `onError`) when Redis cannot answer. */
export class RateLimiterUnavailableError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_RATE_LIMITER';
  override get name(): string {
    return 'RateLimiterUnavailableError';
  }
}

/**
 * A rate limiter shared by every instance through Redis: one atomic script per request (one
 * round trip), judged on Redis's clock, so the limit is exact across instances.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: RedisWithGcra;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #mode: 'memory' | 'unavailable';
  readonly #onFallback: ((error: unknown) => void) | undefined;
  readonly #fallback = new MemoryRateLimiter();

  constructor(options: RedisRateLimiterOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('options are required: new RedisRateLimiter({ redis })');
    }
    rejectUnknownOptions(options, OPTION_NAMES);
    const { redis } = options;
    if (redis === null || typeof redis !== 'object' || typeof redis.defineCommand !== 'function') {
      throw new ConfigurationError('redis must be an ioredis client: new Redis(url)');
    }
    const prefix = options.prefix ?? DEFAULT_RATE_PREFIX;
    if (typeof prefix !== 'string') throw new ConfigurationError('prefix must be a string');
    const timeoutMs = options.timeoutMs ?? 100;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new ConfigurationError('timeoutMs must be an integer from 1 to 60000');
    }
    const mode = options.onRedisFailure ?? 'memory';
    if (mode !== 'memory' && mode !== 'unavailable') {
      throw new ConfigurationError('onRedisFailure must be "memory" or "unavailable"');
    }
    if (options.onFallback !== undefined && typeof options.onFallback !== 'function') {
      throw new ConfigurationError('onFallback must be a function');
    }
    // EVALSHA with a fallback to EVAL on NOSCRIPT: still one round trip per request.
    if (typeof (redis as unknown as Partial<RedisWithGcra>).orkestaAuthGcra !== 'function') {
      redis.defineCommand('orkestaAuthGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
    }
    this.#redis = redis as RedisWithGcra;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#mode = mode;
    this.#onFallback = options.onFallback;
  }

  async take(bucket: string, rule: RateLimitRule, now: number): Promise<RateLimitDecision> {
    try {
      // Not connected (yet, or any more): do not queue behind a reconnect for timeoutMs.
      if (this.#redis.status !== 'ready') {
        throw new RateLimiterUnavailableError(`Redis is ${this.#redis.status}`);
      }
      return await this.#run(bucket, rule);
    } catch (error) {
      if (this.#mode === 'unavailable') throw error;
      try {
        this.#onFallback?.(error);
      } catch {
        // A throwing hook must not turn a fallback into a failure.
      }
      return this.#fallback.take(bucket, rule, now);
    }
  }

  async #run(bucket: string, rule: RateLimitRule): Promise<RateLimitDecision> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.#redis.orkestaAuthGcra(
          this.#prefix + bucket,
          String(rule.intervalMs),
          String(rule.toleranceMs),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new RateLimiterUnavailableError(
                  `Redis did not answer within ${this.#timeoutMs} ms`,
                ),
              ),
            this.#timeoutMs,
          );
        }),
      ]);
      const [allowed, remaining, resetMs, retryAfterMs] = reply;
      return {
        allowed: allowed === 1,
        remaining,
        resetMs: Number(resetMs),
        retryAfterMs: Number(retryAfterMs),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
