import type { LRUCache } from 'lru-cache';
import { ConfigurationError } from './errors.js';
import { growingLru } from './lru.js';
import { optionsObject, rejectUnknownOptions } from './options.js';
import type { Scope } from './scopes.js';
import { isScope, SCOPES } from './scopes.js';
import { optionalBoolean, positiveInteger } from './validate.js';

/**
 * A request rate: `limit` requests per `windowSeconds`, of which up to `burst` may come at once
 * (default `limit`). Enforced with GCRA (the generic cell rate algorithm): a key may send its
 * whole burst at once, then one more request every `windowSeconds / limit` seconds. Unlike a
 * fixed window, it never admits two bursts back to back across a window boundary, and it keeps
 * one number per key.
 */
export interface RateLimitPolicy {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly burst?: number | undefined;
}

/** A policy checked once and reduced to what the algorithm needs. */
export interface RateLimitRule {
  /** Names the policy in the RateLimit fields: the scope, or `key` for a per-key override. */
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly burst: number;
  /** Milliseconds between two requests at the sustained rate. */
  readonly intervalMs: number;
  /** `burst × intervalMs`: how far ahead of the clock a key's schedule may run. */
  readonly toleranceMs: number;
  /** The `RateLimit-Policy` field value (draft-ietf-httpapi-ratelimit-headers-10). */
  readonly policyField: string;
  /**
   * Names the rule's numbers; limiters key buckets by key id and this, because a schedule
   * kept under one rate means nothing under another.
   */
  readonly signature: string;
}

/** What a limiter answers for one request. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Requests that may still be sent at once after this one. */
  readonly remaining: number;
  /** Milliseconds until the whole burst is available again. */
  readonly resetMs: number;
  /** When refused: milliseconds until one request would be admitted. 0 when allowed. */
  readonly retryAfterMs: number;
}

/**
 * Where rate state lives. `take` counts one request against `bucket` under `rule`, atomically,
 * and says whether it is admitted. A limiter shared by several instances (Redis) makes the
 * limit exact across them; `now` is the authenticator's clock, which such a limiter may ignore
 * in favour of its own.
 */
export interface RateLimiter {
  take(
    bucket: string,
    rule: RateLimitRule,
    now: number,
  ): RateLimitDecision | Promise<RateLimitDecision>;
}

const POLICY_FIELDS = ['limit', 'windowSeconds', 'burst'];
const MAX_WINDOW_SECONDS = 366 * 86_400;
const MAX_LIMIT = 1_000_000_000;
const MAX_RATE_PER_SECOND = 100_000;

/**
 * Checks a policy and precomputes its rule; throws `ConfigurationError` saying what is wrong.
 * A policy given as an option (`unknownFields: 'refuse'`, the default) may hold no other field;
 * one read back from a store (`'ignore'`) may, as a stored record may hold columns of its own.
 */
export function rateLimitRule(
  policy: RateLimitPolicy,
  name: string,
  where: string,
  unknownFields: 'refuse' | 'ignore' = 'refuse',
): RateLimitRule {
  if (policy === null || typeof policy !== 'object') {
    throw new ConfigurationError(`${where} must be { limit, windowSeconds, burst? }`);
  }
  if (unknownFields === 'refuse') rejectUnknownOptions(policy, POLICY_FIELDS, where);
  const { limit, windowSeconds } = policy;
  const burst = policy.burst ?? limit;
  const integer = (value: unknown, field: string, max: number) => {
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
      throw new ConfigurationError(`${where}.${field} must be an integer from 1 to ${max}`);
    }
  };
  integer(limit, 'limit', MAX_LIMIT);
  integer(windowSeconds, 'windowSeconds', MAX_WINDOW_SECONDS);
  integer(burst, 'burst', MAX_LIMIT);
  // Schedules are epoch milliseconds in doubles, exact to about 0.0002 ms today: a shorter
  // interval than 0.01 ms would round away.
  if (limit / windowSeconds > MAX_RATE_PER_SECOND) {
    throw new ConfigurationError(
      `${where} allows more than ${MAX_RATE_PER_SECOND} requests per second, more than a key can be tracked at`,
    );
  }
  const intervalMs = (windowSeconds * 1_000) / limit;
  return {
    name,
    limit,
    windowSeconds,
    burst,
    intervalMs,
    toleranceMs: burst * intervalMs,
    policyField: `"${name}";q=${limit};w=${windowSeconds}`,
    signature: `${limit}/${windowSeconds}/${burst}`,
  };
}

/**
 * One GCRA step. `tat` is the bucket's theoretical arrival time (when its schedule is next
 * free), or undefined for a bucket never seen or fully rested. Returns the decision and the
 * new `tat` to keep when allowed.
 */
export function gcra(
  tat: number | undefined,
  rule: RateLimitRule,
  now: number,
): { decision: RateLimitDecision; tat: number } {
  // Work in offsets from now: epoch milliseconds are too large for sub-millisecond sums to
  // stay exact, offsets are not.
  const behind = tat === undefined || tat < now ? 0 : tat - now;
  const ahead = behind + rule.intervalMs;
  const next = now + ahead;
  if (ahead > rule.toleranceMs) {
    return {
      decision: {
        allowed: false,
        remaining: 0,
        resetMs: behind,
        retryAfterMs: ahead - rule.toleranceMs,
      },
      tat: now + behind,
    };
  }
  return {
    decision: {
      allowed: true,
      // The epsilon absorbs floating-point error when the interval is not a whole number of ms.
      remaining: Math.floor((rule.toleranceMs - ahead) / rule.intervalMs + 1e-9),
      resetMs: ahead,
      retryAfterMs: 0,
    },
    tat: next,
  };
}

export interface MemoryRateLimiterOptions {
  /** Buckets kept; the least recently used beyond this are dropped. Default 100,000. */
  readonly maxBuckets?: number;
}

/**
 * Rate state in process memory, in an `lru-cache` bounded by `maxBuckets`. A bucket is kept
 * only while its key is ahead of its rate: once rested it is dropped, which is exactly the
 * state of a bucket never seen, so expiry costs no accuracy. Exact within one process; a flood
 * of distinct keys beyond `maxBuckets` evicts the least recently used, which then start afresh.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #buckets: LRUCache<string, number>;

  constructor(given: MemoryRateLimiterOptions = {}) {
    const options = optionsObject(given, ['maxBuckets'], undefined, '{ maxBuckets? }');
    this.#buckets = growingLru(positiveInteger(options.maxBuckets, 'maxBuckets', 100_000));
  }

  take(bucket: string, rule: RateLimitRule, now: number): RateLimitDecision {
    const { decision, tat } = gcra(this.#buckets.get(bucket), rule, now);
    if (decision.allowed) this.#buckets.set(bucket, tat);
    return decision;
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }
}

/** The `RateLimit` field value for a decision (draft-ietf-httpapi-ratelimit-headers-10). */
export function rateLimitField(rule: RateLimitRule, decision: RateLimitDecision): string {
  return `"${rule.name}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1_000)}`;
}

/** Whole seconds to wait, never 0: `Retry-After: 0` would invite an immediate retry. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1_000));
}

/** The per-scope defaults and options of the rate-limit step, checked. */
export interface RateLimitSettings {
  readonly scopes: Readonly<Partial<Record<Scope, RateLimitRule>>>;
  readonly limiter: RateLimiter;
  readonly headers: boolean;
}

export interface RateLimitOptions {
  /** The default rate of each scope's keys. A scope left out (or all, by default) is not limited. */
  readonly scopes?: Readonly<Partial<Record<Scope, RateLimitPolicy>>>;
  /** Where rate state lives. Default: a `MemoryRateLimiter` (exact within this process). */
  readonly limiter?: RateLimiter;
  /** Send `RateLimit-Policy` and `RateLimit` on admitted requests too. Default `true`. */
  readonly headers?: boolean;
}

export function rateLimitSettings(given: RateLimitOptions): RateLimitSettings {
  const options = optionsObject(
    given,
    ['scopes', 'limiter', 'headers'],
    'rateLimit',
    '{ scopes, limiter?, headers? } or false',
  );
  const { scopes = {} } = options;
  if (scopes === null || typeof scopes !== 'object') {
    throw new ConfigurationError(
      "rateLimit.scopes must map scopes to rates: { 'read-only': { limit, windowSeconds } }",
    );
  }
  const rules: Partial<Record<Scope, RateLimitRule>> = {};
  rejectUnknownOptions(scopes, SCOPES, 'rateLimit.scopes');
  for (const [scope, policy] of Object.entries(scopes)) {
    if (!isScope(scope)) continue;
    if (policy !== undefined)
      rules[scope] = rateLimitRule(policy, scope, `rateLimit.scopes['${scope}']`);
  }
  const limiter = options.limiter ?? new MemoryRateLimiter();
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.take !== 'function') {
    throw new ConfigurationError('rateLimit.limiter must have a take(bucket, rule, now) method');
  }
  const headers = optionalBoolean(options.headers, 'rateLimit.headers', true);
  return { scopes: rules, limiter, headers };
}
