import { isIPv4, isIPv6 } from 'node:net';
import type { LRUCache } from 'lru-cache';
import type { AnyAuthError } from '../errors.js';
import { TooManyFailedAttemptsError } from '../errors.js';
import { growingLru } from '../lru.js';
import { optionsObject } from '../options.js';
import type { RateLimitRule } from '../rate-limit.js';
import { gcra, rateLimitRule, retryAfterSeconds } from '../rate-limit.js';
import { positiveInteger } from '../validate.js';

/** The refusals that count as failed attempts: those a guesser gets. */
export const FAILED_ATTEMPT_CODES: ReadonlySet<AnyAuthError['code']> = new Set([
  'malformed_authorization_header',
  'invalid_api_key',
  'api_key_revoked',
  'api_key_expired',
]);

/**
 * The throttle step: an address group over its allowance of failed attempts gets 429
 * `too_many_failed_attempts`, with `Retry-After`, before its key is read. While nobody has
 * failed for a whole window, the client address is not even read.
 */
export function throttleError(
  throttle: FailedAttemptThrottle | undefined,
  request: { readonly ip?: string | undefined },
  now: number,
): TooManyFailedAttemptsError | undefined {
  if (throttle === undefined || throttle.isQuiet(now)) return undefined;
  const waitMs = throttle.blockedForMs(request.ip, now);
  return waitMs > 0 ? new TooManyFailedAttemptsError(retryAfterSeconds(waitMs)) : undefined;
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

const FAILED_ATTEMPTS_OPTIONS = ['limit', 'windowSeconds', 'maxAddresses'];

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

  constructor(given: FailedAttemptsOptions) {
    const options = optionsObject(
      given,
      FAILED_ATTEMPTS_OPTIONS,
      'failedAttempts',
      '{ limit?, windowSeconds?, maxAddresses? } or false',
    );
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
