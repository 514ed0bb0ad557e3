import { ConfigurationError } from './errors.js';
import type { HashingOptions } from './hashing.js';
import { KeyHasher } from './hashing.js';
import type { AuthHooks } from './hooks.js';
import { HookCaller } from './hooks.js';
import type { CacheSettings } from './key-cache.js';
import type { KeyEnvironment } from './key-format.js';
import { isKeyEnvironment, KEY_ENVIRONMENTS } from './key-format.js';
import { optionsObject, rejectUnknownOptions } from './options.js';
import type { RateLimitOptions, RateLimitSettings } from './rate-limit.js';
import { rateLimitSettings } from './rate-limit.js';
import { ErrorRenderer } from './render.js';
import type { SignedKeyOptions } from './signed-verifier.js';
import { SignedKeyVerifier } from './signed-verifier.js';
import { DEFAULT_MAX_HEADER_LENGTH } from './steps/extract.js';
import type { FailedAttemptsOptions } from './steps/throttle.js';
import { FailedAttemptThrottle } from './steps/throttle.js';
import type { KeyChangeFeed, KeyLookup, KeyStore } from './store-types.js';
import { MAX_TIMER_MS, optionalBoolean, positiveInteger } from './validate.js';

export interface CacheOptions {
  /** Verified keys kept. Default 10,000. */
  readonly max?: number;
  /** How long a verified key is trusted without asking the store, in ms. Default 30,000. */
  readonly ttlMs?: number;
  /** Unknown ids remembered. Default 10,000. */
  readonly negativeMax?: number;
  /** How long an unknown id is remembered, in ms. Default 5,000. */
  readonly negativeTtlMs?: number;
  /**
   * While the change feed is cut off (it told its subscribers it lost its connection, and has
   * not yet said it is back), how long a verified key is trusted without asking the store, in
   * ms: from the moment the feed went down, or from the lookup if that came later. Revocations
   * made elsewhere meanwhile cannot reach this instance through the feed, so this, not `ttlMs`,
   * bounds how late they are seen. When the feed is back, every entry is dropped. Default
   * 1,000; at most `ttlMs`.
   */
  readonly feedOutageTtlMs?: number;
}

export interface AuthenticatorOptions {
  /** Where keys are looked up. One method, `findById`, is enough. */
  readonly store: KeyLookup;
  /** Key environments accepted. Default both, `['live', 'test']`. */
  readonly environments?: readonly KeyEnvironment[];
  /** Refuse plain HTTP with 403 `https_required`. Default `true`. */
  readonly requireHttps?: boolean;
  /** Realm of `WWW-Authenticate` challenges. Default `"api"`. */
  readonly realm?: string;
  /** Prefix of problem `type` URIs. Default `"urn:orkesta-auth:error:"`. */
  readonly problemTypeBase?: string;
  /** Peppers for HMAC-SHA-256 hashes; must match those keys were issued with. */
  readonly hashing?: HashingOptions;
  /** Lookup caches; `false` asks the store on every request. */
  readonly cache?: CacheOptions | false;
  /** A store call slower than this answers 503 `auth_unavailable`. Default 2,000 ms. */
  readonly storeTimeoutMs?: number;
  /** `Retry-After` of a 503, in seconds. Default 5. */
  readonly unavailableRetryAfterSeconds?: number;
  /** Longest Authorization value read. Default 1,024 characters. */
  readonly maxHeaderLength?: number;
  /**
   * Batch `lastUsedAt` writes, at most one store call per interval whatever the request rate.
   * Default on (every 30,000 ms) when the store has `recordLastUsed`; `false` turns it off.
   */
  readonly lastUsed?: { readonly intervalMs?: number } | false;
  /**
   * Where to hear of revoked, rotated and created keys, to drop them from the caches.
   * Default: the store's own feed (`store.changes`), if it has one.
   */
  readonly changeFeed?: KeyChangeFeed;
  /**
   * Request rates per key: defaults per scope (`scopes`), overridden by a key's own rate (set
   * with `KeyManager`). A key over its rate gets 429 `rate_limit_exceeded`. By default no scope
   * has a rate, keys' own rates apply, and state is kept in process memory; `false` turns
   * rate limiting off entirely.
   */
  readonly rateLimit?: RateLimitOptions | false;
  /**
   * Brute-force throttling: failed authentications (malformed header, invalid, revoked or
   * expired key) per client address, IPv6 by /64. Over the allowance, 429
   * `too_many_failed_attempts` before any lookup. Default 100 per 60 s; `false` turns it off.
   */
  readonly failedAttempts?: FailedAttemptsOptions | false;
  /**
   * Accept signed keys (`orks_…`): verified with jose against the issuer's JWKS (given, or
   * fetched from a URL), then looked up in the store like any key for revocation and expiry.
   * Without it, a signed key is `invalid_api_key`.
   */
  readonly signedKeys?: SignedKeyOptions;
  readonly hooks?: AuthHooks;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** Every option `createAuthenticator` knows; adapters add their own beside them. */
export const AUTHENTICATOR_OPTIONS: readonly (keyof AuthenticatorOptions)[] = [
  'store',
  'environments',
  'requireHttps',
  'realm',
  'problemTypeBase',
  'hashing',
  'cache',
  'storeTimeoutMs',
  'unavailableRetryAfterSeconds',
  'maxHeaderLength',
  'lastUsed',
  'changeFeed',
  'rateLimit',
  'failedAttempts',
  'signedKeys',
  'hooks',
  'now',
];

/** The options, checked and turned into what the pipeline runs with. */
export interface AuthenticatorSettings {
  readonly store: KeyLookup;
  readonly environments: ReadonlySet<KeyEnvironment>;
  readonly requireHttps: boolean;
  readonly renderer: ErrorRenderer;
  readonly hasher: KeyHasher;
  readonly now: () => number;
  readonly storeTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly maxHeaderLength: number;
  readonly hooks: HookCaller;
  readonly cache: CacheSettings | undefined;
  /** The store's `recordLastUsed`, bound, and how often to call it; `undefined` for none. */
  readonly lastUsed:
    | { readonly write: KeyStore['recordLastUsed']; readonly intervalMs: number }
    | undefined;
  readonly changeFeed: KeyChangeFeed | undefined;
  readonly rateLimit: RateLimitSettings | undefined;
  readonly throttle: FailedAttemptThrottle | undefined;
  readonly signed: SignedKeyVerifier | undefined;
}

/**
 * The options of an authenticator, checked once, at creation: an unknown option (a typo) or a
 * wrong value throws a `ConfigurationError` saying what to fix.
 */
export function resolveAuthenticatorOptions(options: AuthenticatorOptions): AuthenticatorSettings {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options are required: at least { store }');
  }
  rejectUnknownOptions(options, AUTHENTICATOR_OPTIONS);
  const { store } = options;
  if (store === null || typeof store !== 'object' || typeof store.findById !== 'function') {
    throw new ConfigurationError('store must be an object with a findById(id) method');
  }
  const now = options.now === undefined ? Date.now : options.now;
  if (typeof now !== 'function') throw new ConfigurationError('now must be a function');
  const hooks = new HookCaller(options.hooks);
  return {
    store,
    environments: environmentsOf(options.environments),
    requireHttps: optionalBoolean(options.requireHttps, 'requireHttps', true),
    renderer: new ErrorRenderer({
      ...(options.realm === undefined ? {} : { realm: options.realm }),
      ...(options.problemTypeBase === undefined
        ? {}
        : { problemTypeBase: options.problemTypeBase }),
    }),
    hasher: new KeyHasher(options.hashing),
    now,
    storeTimeoutMs: positiveInteger(options.storeTimeoutMs, 'storeTimeoutMs', 2_000, MAX_TIMER_MS),
    retryAfterSeconds: positiveInteger(
      options.unavailableRetryAfterSeconds,
      'unavailableRetryAfterSeconds',
      5,
    ),
    maxHeaderLength: positiveInteger(
      options.maxHeaderLength,
      'maxHeaderLength',
      DEFAULT_MAX_HEADER_LENGTH,
    ),
    hooks,
    cache: options.cache === false ? undefined : cacheSettings(options.cache),
    lastUsed: lastUsedSettings(options.lastUsed, store),
    changeFeed: changeFeedOf(options.changeFeed === undefined ? store.changes : options.changeFeed),
    rateLimit: options.rateLimit === false ? undefined : rateLimitSettings(options.rateLimit ?? {}),
    throttle:
      options.failedAttempts === false
        ? undefined
        : new FailedAttemptThrottle(options.failedAttempts ?? {}),
    signed:
      options.signedKeys === undefined ? undefined : new SignedKeyVerifier(options.signedKeys, now),
  };
}

function cacheSettings(given: CacheOptions | undefined): CacheSettings {
  const cache = optionsObject(
    given,
    ['max', 'ttlMs', 'negativeMax', 'negativeTtlMs', 'feedOutageTtlMs'],
    'cache',
    'an object of cache options, or false',
  );
  const ttlMs = positiveInteger(cache.ttlMs, 'cache.ttlMs', 30_000);
  const feedOutageTtlMs = positiveInteger(
    cache.feedOutageTtlMs,
    'cache.feedOutageTtlMs',
    Math.min(1_000, ttlMs),
  );
  if (feedOutageTtlMs > ttlMs) {
    throw new ConfigurationError(
      `cache.feedOutageTtlMs (${feedOutageTtlMs}) must not be greater than cache.ttlMs (${ttlMs})`,
    );
  }
  return {
    max: positiveInteger(cache.max, 'cache.max', 10_000),
    ttlMs,
    negativeMax: positiveInteger(cache.negativeMax, 'cache.negativeMax', 10_000),
    negativeTtlMs: positiveInteger(cache.negativeTtlMs, 'cache.negativeTtlMs', 5_000),
    feedOutageTtlMs,
  };
}

function lastUsedSettings(
  given: AuthenticatorOptions['lastUsed'],
  store: KeyLookup & Partial<Pick<KeyStore, 'recordLastUsed'>>,
): AuthenticatorSettings['lastUsed'] {
  if (given === false) return undefined;
  const options = optionsObject(given, ['intervalMs'], 'lastUsed', '{ intervalMs? } or false');
  const write = store.recordLastUsed;
  if (typeof write !== 'function') {
    if (given === undefined) return undefined; // a bare lookup need not record uses
    throw new ConfigurationError('lastUsed needs a store with a recordLastUsed(batch) method');
  }
  return {
    write: (batch) => write.call(store, batch),
    intervalMs: positiveInteger(options.intervalMs, 'lastUsed.intervalMs', 30_000, MAX_TIMER_MS),
  };
}

function changeFeedOf(feed: KeyChangeFeed | undefined): KeyChangeFeed | undefined {
  if (feed === undefined) return undefined;
  if (feed === null || typeof feed !== 'object' || typeof feed.subscribe !== 'function') {
    throw new ConfigurationError('changeFeed must have a subscribe(listener) method');
  }
  return feed;
}

function environmentsOf(value: readonly KeyEnvironment[] | undefined): Set<KeyEnvironment> {
  if (value === undefined) return new Set(KEY_ENVIRONMENTS);
  if (!Array.isArray(value) || value.length === 0 || !value.every(isKeyEnvironment)) {
    throw new ConfigurationError('environments must be a non-empty list of "live" and "test"');
  }
  return new Set(value);
}
