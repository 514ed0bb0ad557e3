import { isIPv4, isIPv6 } from 'node:net';
import type { LRUCache } from 'lru-cache';
import { ConfigurationError } from './errors.js';
import { growingLru } from './lru.js';
import type { Scope } from './scopes.js';
import { isScope } from './scopes.js';
import { positiveInteger } from './validate.js';

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

const MAX_WINDOW_SECONDS = 366 * 86_400;
const MAX_LIMIT = 1_000_000_000;
const MAX_RATE_PER_SECOND = 100_000;

/** Checks a policy and precomputes its rule; throws `ConfigurationError` saying what is wrong. */
export function rateLimitRule(policy: RateLimitPolicy, name: string, where: string): RateLimitRule {
  if (policy === null || typeof policy !== 'object') {
    throw new ConfigurationError(`${where} must be { limit, windowSeconds, burst? }`);
  }
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

  constructor(options: MemoryRateLimiterOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('MemoryRateLimiter options must be an object');
    }
    const max = options.maxBuckets ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new ConfigurationError('maxBuckets must be a positive integer');
    }
    this.#buckets = growingLru(max);
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
  /** The default rate of each scope's keys. A scope left out is not limited. */
  readonly scopes: Readonly<Partial<Record<Scope, RateLimitPolicy>>>;
  /** Where rate state lives. Default: a `MemoryRateLimiter` (exact within this process). */
  readonly limiter?: RateLimiter;
  /** Send `RateLimit-Policy` and `RateLimit` on admitted requests too. Default `true`. */
  readonly headers?: boolean;
}

export function rateLimitSettings(options: RateLimitOptions): RateLimitSettings {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('rateLimit must be { scopes, limiter?, headers? } or false');
  }
  const { scopes } = options;
  if (scopes === null || typeof scopes !== 'object') {
    throw new ConfigurationError(
      "rateLimit.scopes must map scopes to rates: { 'read-only': { limit, windowSeconds } }",
    );
  }
  const rules: Partial<Record<Scope, RateLimitRule>> = {};
  for (const [scope, policy] of Object.entries(scopes)) {
    if (!isScope(scope)) {
      throw new ConfigurationError(`rateLimit.scopes has an unknown scope "${scope}"`);
    }
    if (policy !== undefined)
      rules[scope] = rateLimitRule(policy, scope, `rateLimit.scopes['${scope}']`);
  }
  const limiter = options.limiter ?? new MemoryRateLimiter();
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.take !== 'function') {
    throw new ConfigurationError('rateLimit.limiter must have a take(bucket, rule, now) method');
  }
  const headers = options.headers ?? true;
  if (typeof headers !== 'boolean')
    throw new ConfigurationError('rateLimit.headers must be a boolean');
  return { scopes: rules, limiter, headers };
}

/**
 * The group a client address counts in for brute-force throttling: an IPv4 address itself,
 * an IPv6 address by its /64 (one subscriber's usual allocation, so rotating through it buys
 * nothing), an IPv4-mapped IPv6 address as the IPv4 address. `undefined` when the framework
 * gave no usable address.
 */
export function clientAddressGroup(ip: string | undefined): string | undefined {
  if (typeof ip !== 'string' || ip.length === 0) return undefined;
  if (isIPv4(ip)) return ip;
  const zoneless = ip.split('%')[0] as string;
  if (!isIPv6(zoneless)) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1];
  return `${expandIPv6(zoneless).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of a valid IPv6 address, lower case, without leading zeros. */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) is two hextets.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((h) => Number.parseInt(h, 16).toString(16));
}

export interface FailedAttemptsOptions {
  /** Failed authentications allowed from one address group per window. Default 100. */
  readonly limit?: number;
  /** Default 60 seconds. */
  readonly windowSeconds?: number;
  /** Address groups tracked; the least recently used beyond this are dropped. Default 100,000. */
  readonly maxAddresses?: number;
}

/**
 * Brute-force throttling: counts failed authentications per client address group and refuses
 * the group once it is over its allowance, before any store lookup. In process memory: each
 * instance throttles what it sees.
 */
export class FailedAttemptThrottle {
  readonly #rule: RateLimitRule;
  readonly #maxAddresses: number;
  /**
   * Address group → GCRA theoretical arrival time, in ms after `#epoch`. An IPv4 group is keyed
   * by its 32-bit value, and times after a recent epoch are small whole numbers while the
   * interval is a whole number of ms (600 ms by default): V8 keeps both unboxed (small
   * integers; an IPv4 value from 2^30 up is boxed), so a flood from ever new addresses
   * allocates next to nothing per address beyond the table's slots. Made, with its epoch, at
   * the first failure.
   */
  #table: LRUCache<number | string, number> | undefined;
  #epoch = 0;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(options: FailedAttemptsOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(
        'failedAttempts must be { limit?, windowSeconds?, maxAddresses? } or false',
      );
    }
    this.#rule = rateLimitRule(
      { limit: options.limit ?? 100, windowSeconds: options.windowSeconds ?? 60 },
      'failed-attempts',
      'failedAttempts',
    );
    this.#maxAddresses = positiveInteger(
      options.maxAddresses,
      'failedAttempts.maxAddresses',
      100_000,
    );
  }

  /**
   * Whether no address can be held back now: the last failure anywhere is longer ago than an
   * allowance takes to refill. Lets the authenticator skip reading the client address (a
   * framework getter, not free) on every request while nobody is failing.
   */
  isQuiet(now: number): boolean {
    return now > this.#lastFailureAt + this.#rule.toleranceMs;
  }

  /** Milliseconds until the group of address `ip` may try again; 0 if it may now. */
  blockedForMs(ip: string | undefined, now: number): number {
    if (this.#table === undefined) return 0;
    const group = addressKey(ip);
    if (group === undefined) return 0;
    const at = this.#offset(now);
    return gcra(this.#table.get(group), this.#rule, at).decision.retryAfterMs;
  }

  /** Counts one failure of the group of address `ip` (nothing when it has no usable group). */
  recordFailure(ip: string | undefined, now: number): void {
    const group = addressKey(ip);
    if (group === undefined) return;
    this.#lastFailureAt = Math.max(this.#lastFailureAt, now);
    if (this.#table === undefined) {
      this.#table = growingLru(this.#maxAddresses);
      this.#epoch = now;
    }
    const at = this.#offset(now);
    const { decision, tat } = gcra(this.#table.get(group), this.#rule, at);
    if (decision.allowed) this.#table.set(group, tat);
  }

  /** `now` in ms after the epoch, moving the epoch up once it is 2^30 ms (about 12 days) old. */
  #offset(now: number): number {
    const offset = now - this.#epoch;
    if (offset <= REBASE_AFTER_MS) return offset;
    // Times stay small: every entry is restated from the new epoch, and one whose time has
    // passed is dropped, which is the state of an address never seen. Restated from the least
    // recently used on, each `set` moves its entry to the front in turn: the order survives.
    const table = this.#table!;
    for (const group of [...table.rkeys()]) {
      const tat = table.peek(group) as number;
      if (tat <= offset) table.delete(group);
      else table.set(group, tat - offset);
    }
    this.#epoch = now;
    return 0;
  }
}

/** Keeps the throttle's stored times below 2^31, the range V8 keeps unboxed. */
const REBASE_AFTER_MS = 2 ** 30;

/** The throttle's key for the group of `ip`: an IPv4 group as a 32-bit integer, an IPv6 /64 as text. */
function addressKey(ip: string | undefined): number | string | undefined {
  const group = clientAddressGroup(ip);
  if (group === undefined || group.includes(':')) return group;
  let value = 0;
  let octet = 0;
  for (let i = 0; i < group.length; i++) {
    const code = group.charCodeAt(i);
    if (code === DOT) {
      value = (value << 8) | octet;
      octet = 0;
    } else octet = octet * 10 + code - ZERO;
  }
  return (value << 8) | octet;
}

const DOT = 0x2e;
const ZERO = 0x30;
