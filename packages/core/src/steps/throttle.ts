import { BlockList, isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
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
 * nothing), an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, `::ffff:cb00:7107`) as the IPv4
 * address. A zone (`%eth0`) names the interface, not the peer: it is left out. `undefined` when
 * the framework gave no usable address (Koa behind `proxy: true` passes `X-Forwarded-For` text
 * through unchecked). Node judges the text and whether it is IPv4-mapped; ipaddr.js reads its
 * parts. (ipaddr.js alone would take `::ffff:0x1.2.3.4` and `::ffff:01.2.3.4`, and reads the
 * old IPv4-compatible `::1.2.3.4` as mapped, where `::102:304`, the same address, is not.)
 */
export function clientAddressGroup(ip: string | undefined): string | undefined {
  if (typeof ip !== 'string') return undefined;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return undefined;
  // ipaddr.js refuses some zone text (`%et.0`) that Node accepts in an address: cut it off first.
  const zoneless = ip.split('%')[0] as string;
  const address = ipaddr.IPv6.parse(zoneless);
  if (IPV4_MAPPED.check(zoneless, 'ipv6')) return address.toIPv4Address().toString();
  return `${address.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}

/** `::ffff:0:0/96`, the IPv4-mapped addresses (RFC 4291 2.5.5.2). */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

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
   * allocates next to nothing per address beyond the table's slots. Measured when it came
   * (bench "floods of bad keys", 1,000,000 keys from ever new addresses): RSS growth +10.9 MB
   * with this table against +24 to +42 MB with text keys and epoch-millisecond times. Made,
   * with its epoch, at the first failure.
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
    // Over its allowance (failures racing past the check), the time comes back as it was.
    this.#table.set(group, gcra(this.#table.get(group), this.#rule, at).tat);
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
