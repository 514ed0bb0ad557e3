import type { LRUCache } from 'lru-cache';
import { equalInConstantTime } from './constant-time.js';
import type { AnyAuthError } from './errors.js';
import {
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AuthUnavailableError,
  ConfigurationError,
  HttpsRequiredError,
  InsufficientScopeError,
  InvalidApiKeyError,
  MissingApiKeyError,
  RateLimitExceededError,
  TooManyFailedAttemptsError,
  WorkspaceMismatchError,
} from './errors.js';
import type { DecodedHash, HashingOptions } from './hashing.js';
import { KeyHasher } from './hashing.js';
import type { AuthorizationInput } from './header.js';
import { DEFAULT_MAX_HEADER_LENGTH, extractBearerToken } from './header.js';
import type { KeyEnvironment, KeyShape } from './key-format.js';
import {
  hasValidChecksum,
  isKeyEnvironment,
  KEY_ENVIRONMENTS,
  KEY_LENGTH,
  keyIdPosition,
  readKeyShape,
} from './key-format.js';
import { LastUsedRecorder } from './last-used.js';
import { growingLru } from './lru.js';
import type {
  FailedAttemptsOptions,
  RateLimitDecision,
  RateLimitOptions,
  RateLimitRule,
  RateLimitSettings,
} from './rate-limit.js';
import {
  FailedAttemptThrottle,
  rateLimitField,
  rateLimitRule,
  rateLimitSettings,
  retryAfterSeconds,
} from './rate-limit.js';
import type { RenderedError } from './render.js';
import { ErrorRenderer } from './render.js';
import type { Scope } from './scopes.js';
import { isScope, scopeSatisfies } from './scopes.js';
import type { KeyKind, ParsedSignedKey } from './signed-key.js';
import {
  hasSignedKeyPrefix,
  parseSignedKey,
  SIGNED_KEY_MAX_LENGTH,
  signedKeyIdPosition,
} from './signed-key.js';
import type { SignedKeyOptions, VerifiedClaims } from './signed-verifier.js';
import { JwksUnavailable, SignedKeyVerifier } from './signed-verifier.js';
import type { KeyChangeFeed, KeyLookup, KeyStore, StoredKey } from './store.js';
import { MAX_TIMER_MS, optionalBoolean, positiveInteger, toDate } from './validate.js';

/** A key as a request presents it: shape checked, whole token kept for the comparison. */
interface PresentedKey extends KeyShape {
  readonly token: string;
  /** A signed key's verified claims; `undefined` for an opaque key. */
  readonly signed: VerifiedClaims | undefined;
}

/** The token a cache entry's key last matched, kept in memory; see `Authenticator#rememberedEntry`. */
interface RememberedToken {
  /** The token's characters, one byte each (keys are ASCII); see `equalInConstantTime`. */
  readonly bytes: Uint8Array;
  readonly environment: KeyEnvironment;
  readonly signed: VerifiedClaims | undefined;
}

/** A request as every adapter translates it. */
export interface AuthRequest {
  /** The Authorization field value(s); see `authorizationFromRawHeaders`. */
  readonly authorization: AuthorizationInput;
  /** Whether the request came over HTTPS, as the framework judges it (trust proxy honoured). */
  readonly secure: boolean;
  /**
   * Client address as the framework judges it (its trust-proxy setting honoured, never a raw
   * `X-Forwarded-For`): the unit of brute-force throttling, and reported to hooks.
   */
  readonly ip?: string | undefined;
  /** Request path; reported to hooks. */
  readonly path?: string | undefined;
  /** The workspace the route belongs to, when it names one. */
  readonly workspaceId?: string | undefined;
  /** The least scope the route needs. */
  readonly requiredScope?: Scope | undefined;
}

/** The authenticated key a request carries. Holds nothing secret. */
export interface AuthenticatedKey {
  readonly keyId: string;
  readonly workspaceId: string;
  readonly scope: Scope;
  readonly environment: KeyEnvironment;
  readonly expiresAt: Date | null;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly key: AuthenticatedKey;
      /** Response headers for an admitted request: the `RateLimit` fields, when enabled. */
      readonly headers?: Readonly<Record<string, string>> | undefined;
    }
  | { readonly ok: false; readonly error: AnyAuthError };

/** What a route requires of an authenticated key. */
export interface AccessRequirement {
  readonly workspaceId?: string | undefined;
  readonly scope?: Scope | undefined;
}

/** Where a request came from, for audit; never the Authorization value. */
export interface RequestOrigin {
  readonly ip: string | undefined;
  readonly path: string | undefined;
}

export interface AuthenticatedEvent extends RequestOrigin {
  readonly key: AuthenticatedKey;
}

export interface RejectedEvent extends RequestOrigin {
  readonly code: AnyAuthError['code'];
  readonly status: number;
  /** The key id, when the request got as far as a well-formed key. */
  readonly keyId: string | undefined;
}

/**
 * A valid key sent over plain HTTP while HTTPS is required. The request got 403
 * `https_required` all the same, but the secret crossed the network in the clear.
 */
export interface InsecureKeyEvent extends RequestOrigin {
  /** The key whose secret was exposed. Never the secret. */
  readonly keyId: string;
}

export interface ErrorContext {
  readonly operation: 'lookup' | 'last-used' | 'hook' | 'rate-limit' | 'jwks';
  readonly keyId?: string | undefined;
}

/** Audit and metrics hooks. They receive key ids and codes, never a secret. */
export interface AuthHooks {
  onAuthenticated?(event: AuthenticatedEvent): void;
  onRejected?(event: RejectedEvent): void;
  /**
   * A store failure, a malformed stored record, a failed last-used write, a failing rate
   * limiter, a throwing hook.
   */
  onError?(error: unknown, context: ErrorContext): void;
  /**
   * A valid key arrived over plain HTTP while HTTPS is required: treat it as leaked (rotate or
   * revoke it, tell its owner). The request is refused with 403 `https_required` whatever it
   * carries; the key is checked after that, off the request's path. Only a token whose secret
   * the stored hash accepts is reported: a key id alone, public by design, is not enough.
   */
  onInsecureKey?(event: InsecureKeyEvent): void;
}

export interface CacheOptions {
  /** Verified keys kept. Default 10,000. */
  readonly max?: number;
  /** How long a verified key is trusted without asking the store, in ms. Default 30,000. */
  readonly ttlMs?: number;
  /** Unknown ids remembered. Default 10,000. */
  readonly negativeMax?: number;
  /** How long an unknown id is remembered, in ms. Default 5,000. */
  readonly negativeTtlMs?: number;
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

/** A verified store record, decoded once and kept in the cache. */
interface KnownKey {
  readonly id: string;
  readonly kind: KeyKind;
  readonly workspaceId: string;
  readonly scope: Scope;
  readonly hash: DecodedHash;
  readonly revoked: boolean;
  readonly expiresAtMs: number;
  readonly expiresAt: Date | null;
  /** The key's own rate, when its record sets one; otherwise its scope's. */
  readonly rateRule: RateLimitRule | undefined;
  /** The limiter bucket of this key under that rate. */
  readonly rateBucket: string;
  /** The principal handed to requests, made on first use; one per environment of the token. */
  principals: { live?: AuthenticatedKey; test?: AuthenticatedKey };
  /** The token that last matched `hash`; see `Authenticator#rememberedEntry`. */
  remembered: RememberedToken | undefined;
  /** When the cache entry stops answering and the store is asked again (clock ms). */
  freshUntilMs: number;
}

/** An unknown id: the value kept in the negative cache and returned by a lookup that found nothing. */
const UNKNOWN = false;
type LookupOutcome = KnownKey | typeof UNKNOWN | AuthUnavailableError;

/** The authenticate pipeline of the behaviour contract, built once from validated options. */
export class Authenticator {
  readonly #store: KeyLookup;
  readonly #environments: ReadonlySet<KeyEnvironment>;
  readonly #requireHttps: boolean;
  readonly #renderer: ErrorRenderer;
  readonly #hasher: KeyHasher;
  // The caches' TTLs are judged here, with the clock reading the request already took, rather
  // than by lru-cache, which would read the clock again on every get.
  readonly #cache: LRUCache<string, KnownKey> | undefined;
  readonly #cacheTtlMs: number = 0;
  /** Unknown ids, each with the time (clock ms) until which it is taken as unknown. */
  readonly #unknown: LRUCache<string, number> | undefined;
  readonly #negativeTtlMs: number = 0;
  readonly #inflight = new Map<string, Promise<LookupOutcome>>();
  readonly #signed: SignedKeyVerifier | undefined;
  readonly #storeTimeoutMs: number;
  readonly #retryAfter: number;
  readonly #maxHeaderLength: number;
  readonly #hooks: AuthHooks;
  readonly #now: () => number;
  readonly #lastUsed: LastUsedRecorder | undefined;
  readonly #unsubscribe: (() => void) | undefined;
  readonly #rateLimit: RateLimitSettings | undefined;
  readonly #throttle: FailedAttemptThrottle | undefined;

  constructor(options: AuthenticatorOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('options are required: createAuthenticator({ store })');
    }
    const { store } = options;
    if (store === null || typeof store !== 'object' || typeof store.findById !== 'function') {
      throw new ConfigurationError('store must be an object with a findById(id) method');
    }
    this.#store = store;
    this.#environments = validateEnvironments(options.environments);
    this.#requireHttps = optionalBoolean(options.requireHttps, 'requireHttps', true);
    this.#renderer = new ErrorRenderer({
      ...(options.realm === undefined ? {} : { realm: options.realm }),
      ...(options.problemTypeBase === undefined
        ? {}
        : { problemTypeBase: options.problemTypeBase }),
    });
    this.#hasher = new KeyHasher(options.hashing);
    this.#now = options.now === undefined ? Date.now : options.now;
    if (typeof this.#now !== 'function') throw new ConfigurationError('now must be a function');
    this.#storeTimeoutMs = positiveInteger(
      options.storeTimeoutMs,
      'storeTimeoutMs',
      2_000,
      MAX_TIMER_MS,
    );
    this.#retryAfter = positiveInteger(
      options.unavailableRetryAfterSeconds,
      'unavailableRetryAfterSeconds',
      5,
    );
    this.#maxHeaderLength = positiveInteger(
      options.maxHeaderLength,
      'maxHeaderLength',
      DEFAULT_MAX_HEADER_LENGTH,
    );
    this.#hooks = validateHooks(options.hooks);

    if (options.cache !== false) {
      const cache = options.cache === undefined ? {} : options.cache;
      if (cache === null || typeof cache !== 'object') {
        throw new ConfigurationError('cache must be an object of cache options, or false');
      }
      this.#cache = growingLru(positiveInteger(cache.max, 'cache.max', 10_000));
      this.#cacheTtlMs = positiveInteger(cache.ttlMs, 'cache.ttlMs', 30_000);
      this.#unknown = growingLru(positiveInteger(cache.negativeMax, 'cache.negativeMax', 10_000));
      this.#negativeTtlMs = positiveInteger(cache.negativeTtlMs, 'cache.negativeTtlMs', 5_000);
    }

    const { lastUsed } = options;
    if (
      lastUsed !== undefined &&
      lastUsed !== false &&
      (lastUsed === null || typeof lastUsed !== 'object')
    ) {
      throw new ConfigurationError('lastUsed must be { intervalMs? } or false');
    }
    const recorder = lastUsedWriter(store);
    if (lastUsed !== false && recorder !== undefined) {
      const intervalMs = positiveInteger(
        lastUsed?.intervalMs,
        'lastUsed.intervalMs',
        30_000,
        MAX_TIMER_MS,
      );
      this.#lastUsed = new LastUsedRecorder(recorder, intervalMs, (error) =>
        this.#reportError(error, { operation: 'last-used' }),
      );
    } else if (lastUsed !== undefined && lastUsed !== false) {
      throw new ConfigurationError('lastUsed needs a store with a recordLastUsed(batch) method');
    }

    if (options.rateLimit !== false) {
      this.#rateLimit = rateLimitSettings(options.rateLimit ?? { scopes: {} });
    }
    if (options.failedAttempts !== false) {
      this.#throttle = new FailedAttemptThrottle(options.failedAttempts ?? {});
    }
    if (options.signedKeys !== undefined) {
      this.#signed = new SignedKeyVerifier(options.signedKeys);
    }

    const feed = options.changeFeed === undefined ? store.changes : options.changeFeed;
    if (feed !== undefined) {
      if (feed === null || typeof feed !== 'object' || typeof feed.subscribe !== 'function') {
        throw new ConfigurationError('changeFeed must have a subscribe(listener) method');
      }
      this.#unsubscribe = feed.subscribe(
        (keyIds) => {
          for (const id of keyIds) this.invalidate(id);
        },
        () => this.invalidateAll(),
      );
    }
  }

  /** The realm of this authenticator's challenges. */
  get realm(): string {
    return this.#renderer.realm;
  }

  /**
   * Runs the contract pipeline: transport, extract, throttle, format (a signed key's signature
   * too), lookup, compare, revoked, expired, workspace, rate, scope. Resolves to the key or to
   * the first failure; never rejects.
   */
  async authenticate(request: AuthRequest): Promise<AuthResult> {
    return this.authenticateMaybeSync(request);
  }

  /**
   * `authenticate` for adapters on the hot path: answers synchronously whenever the store need
   * not be asked (a refused header, a cached or negatively cached key), and returns a promise
   * only for a lookup. The answer is the same either way.
   */
  authenticateMaybeSync(request: AuthRequest): AuthResult | Promise<AuthResult> {
    if (this.#requireHttps && request.secure !== true) {
      // The answer is decided before the header is read; the key is read only to report a leak.
      if (this.#hooks.onInsecureKey !== undefined) this.#checkInsecureKey(request);
      return this.#reject(new HttpsRequiredError(), request);
    }
    const token = extractBearerToken(request.authorization, this.#maxHeaderLength);
    if (typeof token !== 'string') return this.#reject(token, request);
    // One clock reading serves every step that is decided now (a lookup reads it again).
    const now = this.#now();
    if (this.#throttle !== undefined && !this.#throttle.isQuiet(now)) {
      const waitMs = this.#throttle.blockedForMs(request.ip, now);
      if (waitMs > 0) {
        return this.#reject(new TooManyFailedAttemptsError(retryAfterSeconds(waitMs)), request);
      }
    }

    // The usual request: the very token a cache entry has already matched. Equal to a token
    // that passed every check, it needs none of them again, only the state of its key.
    const entry = this.#rememberedEntry(token, now);
    if (entry !== undefined) {
      this.#cache!.get(entry.id); // marks the entry as recently used
      const { environment, signed } = entry.remembered!;
      return this.#admit(entry, { environment, id: entry.id, token, signed }, true, request, now);
    }

    if (hasSignedKeyPrefix(token)) return this.#authenticateSigned(token, request);
    const shape = readKeyShape(token);
    if (shape === undefined || !this.#environments.has(shape.environment)) {
      return this.#reject(new InvalidApiKeyError(), request);
    }
    // Any other token passes its checksum before it may touch the cache, a lookup or a hash.
    if (!hasValidChecksum(token)) return this.#reject(new InvalidApiKeyError(), request);
    return this.#find(
      { environment: shape.environment, id: shape.id, token, signed: undefined },
      request,
      now,
    );
  }

  /**
   * A signed key's format step: its shape, then its JWS (signature, `typ`, issuer, audience,
   * dates) with jose. Only a key that passes may touch the cache or the store, as only an
   * opaque key with a right checksum may.
   */
  #authenticateSigned(token: string, request: AuthRequest): AuthResult | Promise<AuthResult> {
    const parsed = parseSignedKey(token);
    if (
      this.#signed === undefined ||
      parsed === undefined ||
      !this.#environments.has(parsed.environment)
    ) {
      return this.#reject(new InvalidApiKeyError(), request);
    }
    return this.#signed
      .verify(parsed, this.#now())
      .then((verified) => this.#afterSignature(parsed, verified, request));
  }

  #afterSignature(
    key: ParsedSignedKey,
    verified: VerifiedClaims | undefined | JwksUnavailable,
    request: AuthRequest,
  ): AuthResult | Promise<AuthResult> {
    if (verified === undefined) return this.#reject(new InvalidApiKeyError(), request);
    if (verified instanceof JwksUnavailable) {
      this.#reportError(verified.cause, { operation: 'jwks', keyId: key.id });
      return this.#reject(new AuthUnavailableError(this.#retryAfter, key.id), request);
    }
    const { environment, id, token } = key;
    return this.#find({ environment, id, token, signed: verified }, request, this.#now());
  }

  /** The lookup step (cache, then store), and the steps after it. */
  #find(
    presented: PresentedKey,
    request: AuthRequest,
    now: number,
  ): AuthResult | Promise<AuthResult> {
    const cached = this.#cached(presented.id, now);
    if (cached !== undefined) return this.#admit(cached, presented, false, request, now);
    const looked = this.#lookup(presented.id, now);
    if (looked instanceof Promise) {
      // Decided when the store has answered: an expiry that passed meanwhile counts.
      return looked.then((outcome) => this.#admit(outcome, presented, false, request, this.#now()));
    }
    return this.#admit(looked, presented, false, request, now);
  }

  /** The cache entry of `id` while it is fresh; a stale one is dropped (the store is asked). */
  #cached(id: string, now: number): KnownKey | undefined {
    return this.#fresh(this.#cache?.get(id), now);
  }

  #fresh(known: KnownKey | undefined, now: number): KnownKey | undefined {
    if (known === undefined || now < known.freshUntilMs) return known;
    this.#cache!.delete(known.id);
    return undefined;
  }

  /**
   * For `onInsecureKey`: whether a plain-HTTP request carried a real key, opaque or signed. Only
   * a well-formed token (an opaque key's shape and checksum, a signed key's shape) is looked up, through the same caches as any request, and only
   * one whose secret the stored hash accepts is reported. The brute-force throttle holds as
   * over HTTPS: a throttled address is not looked up, and a wrong secret counts as a failure.
   */
  #checkInsecureKey(request: AuthRequest): void {
    const token = extractBearerToken(request.authorization, this.#maxHeaderLength);
    if (typeof token !== 'string') return;
    const id = wellFormedKeyId(token);
    if (id === undefined) return;
    // Read while the request is current: the lookup may settle after the answer has gone.
    const origin = { ip: request.ip, path: request.path };
    const now = this.#now();
    if (this.#throttle !== undefined && this.#throttle.blockedForMs(origin.ip, now) > 0) return;
    const settle = (known: LookupOutcome): void => {
      if (known instanceof AuthUnavailableError) return; // already reported to onError
      if (known !== UNKNOWN && this.#hasher.verify(token, known.hash)) {
        this.#callHook(this.#hooks.onInsecureKey!, { keyId: known.id, ...origin });
      } else {
        this.#throttle?.recordFailure(origin.ip, this.#now());
      }
    };
    const known = this.#cached(id, now) ?? this.#lookup(id, now);
    if (known instanceof Promise) void known.then(settle);
    else settle(known);
  }

  /** The steps after the lookup: compare, revoked, expired, workspace, rate, scope. */
  #admit(
    known: LookupOutcome,
    presented: PresentedKey,
    remembered: boolean,
    request: AuthRequest,
    now: number,
  ): AuthResult | Promise<AuthResult> {
    const id = presented.id;
    if (known === UNKNOWN) return this.#reject(new InvalidApiKeyError(id), request);
    if (known instanceof AuthUnavailableError) return this.#reject(known, request);
    if (!remembered && !this.#verify(known, presented)) {
      return this.#reject(new InvalidApiKeyError(id), request);
    }
    if (known.revoked) return this.#reject(new ApiKeyRevokedError(id), request);
    // A signed key expires at the earlier of its own `exp` and its record's expiry.
    const expiresAtMs = Math.min(
      known.expiresAtMs,
      presented.signed?.expiresAtMs ?? Number.POSITIVE_INFINITY,
    );
    if (now >= expiresAtMs) return this.#reject(new ApiKeyExpiredError(id), request);

    const key = this.#principal(known, presented.environment, expiresAtMs);
    if (request.workspaceId !== undefined && request.workspaceId !== key.workspaceId) {
      return this.#reject(new WorkspaceMismatchError(key.keyId), request);
    }
    const rule = this.#rateLimit === undefined ? undefined : known.rateRule;
    if (rule === undefined) return this.#grant(known, key, now, request, undefined);
    let decision: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decision = this.#rateLimit!.limiter.take(known.rateBucket, rule, now);
    } catch (error) {
      return this.#rateLimiterFailed(error, known.id, request);
    }
    if (decision instanceof Promise) {
      return decision.then(
        (settled) => this.#afterRate(known, key, now, request, rule, settled),
        (error: unknown) => this.#rateLimiterFailed(error, known.id, request),
      );
    }
    return this.#afterRate(known, key, now, request, rule, decision);
  }

  #afterRate(
    known: KnownKey,
    key: AuthenticatedKey,
    now: number,
    request: AuthRequest,
    rule: RateLimitRule,
    decision: RateLimitDecision,
  ): AuthResult {
    const fields = {
      'RateLimit-Policy': rule.policyField,
      RateLimit: rateLimitField(rule, decision),
    };
    if (!decision.allowed) {
      const wait = retryAfterSeconds(decision.retryAfterMs);
      return this.#reject(new RateLimitExceededError(known.id, wait, fields), request);
    }
    return this.#grant(known, key, now, request, this.#rateLimit!.headers ? fields : undefined);
  }

  /** A limiter that cannot answer admits nothing: 503, like a store that cannot. */
  #rateLimiterFailed(error: unknown, keyId: string, request: AuthRequest): AuthResult {
    this.#reportError(error, { operation: 'rate-limit', keyId });
    return this.#reject(new AuthUnavailableError(this.#retryAfter, keyId), request);
  }

  /** The last step, scope, and what an admitted request leaves behind. */
  #grant(
    known: KnownKey,
    key: AuthenticatedKey,
    now: number,
    request: AuthRequest,
    headers: Readonly<Record<string, string>> | undefined,
  ): AuthResult {
    const scope = request.requiredScope;
    if (scope !== undefined && !(isScope(scope) && scopeSatisfies(key.scope, scope))) {
      return this.#reject(new InsufficientScopeError(key.keyId, scope), request);
    }
    this.#lastUsed?.touch(known.id, now);
    if (this.#hooks.onAuthenticated !== undefined) {
      this.#callHook(this.#hooks.onAuthenticated, { key, ip: request.ip, path: request.path });
    }
    return headers === undefined ? { ok: true, key } : { ok: true, key, headers };
  }

  /**
   * The cache entry whose stored hash `token` has already matched, if any. SHA-256 is most of
   * the cost of a request, so an entry remembers the token its hash accepted and later requests
   * compare against it, in constant time. The token lives only in this process's cache, as long
   * as the entry does; the store keeps hashes only. `peek`, so that a token that is not the
   * remembered one leaves the entry's place in the LRU as it was.
   */
  #rememberedEntry(token: string, now: number): KnownKey | undefined {
    if (token.length === KEY_LENGTH) {
      const entry = this.#fresh(this.#cache?.peek(keyIdPosition(token)), now);
      const remembered = entry?.remembered?.bytes;
      return remembered !== undefined && equalInConstantTime(token, remembered) ? entry : undefined;
    }
    // A signed key: its length is not secret (every key of one issuer has about the same), so
    // only a remembered token of the same length is compared, in constant time.
    if (token.length > SIGNED_KEY_MAX_LENGTH || !hasSignedKeyPrefix(token)) return undefined;
    const entry = this.#fresh(this.#cache?.peek(signedKeyIdPosition(token)), now);
    const remembered = entry?.remembered?.bytes;
    return remembered !== undefined && equalInConstantTime(token, remembered) ? entry : undefined;
  }

  /**
   * The stored record decides: its kind, its hash (constant-time compare) and, for a signed key,
   * the workspace and scope its claims name. A token it accepts is remembered (see
   * `#rememberedEntry`), a signed one only with `signedKeys.verificationCache` on.
   */
  #verify(known: KnownKey, presented: PresentedKey): boolean {
    const { signed } = presented;
    const matches =
      signed === undefined
        ? known.kind === 'opaque'
        : known.kind === 'signed' &&
          known.workspaceId === signed.workspaceId &&
          known.scope === signed.scope;
    if (!matches || !this.#hasher.verify(presented.token, known.hash)) return false;
    if (signed === undefined || this.#signed?.verificationCache === true) {
      known.remembered = {
        bytes: Buffer.from(presented.token, 'latin1'),
        environment: presented.environment,
        signed,
      };
    }
    return true;
  }

  /**
   * Checks an authenticated key against a route's requirement (workspace, then scope), for
   * checks that run after `authenticate`, such as `requireScope` middleware. Reports refusals
   * to `onRejected` like `authenticate` does.
   */
  authorize(
    key: AuthenticatedKey | undefined,
    requirement: AccessRequirement,
    origin?: Partial<RequestOrigin>,
  ): AnyAuthError | undefined {
    const denied = checkAccess(key, requirement);
    if (denied !== undefined) this.#reportRejection(denied, origin);
    return denied;
  }

  /** The response for a failure: status, headers (challenge, Retry-After) and problem+json body. */
  render(error: AnyAuthError): RenderedError {
    return this.#renderer.render(error);
  }

  /**
   * Sets `error.headers` to the headers `render` would send (challenge, `Retry-After`, content
   * type), for frameworks whose error handling reads them from the error. Returns `error`.
   */
  withHeaders<E extends AnyAuthError>(error: E): E {
    error.headers = this.#renderer.render(error).headers;
    return error;
  }

  /** Forgets what the caches hold about `keyId`; the next request asks the store. */
  invalidate(keyId: string): void {
    this.#cache?.delete(keyId);
    this.#unknown?.delete(keyId);
    // A lookup under way may carry the state from before the change: let it answer the
    // requests that wait on it, but not fill the cache.
    this.#inflight.delete(keyId);
  }

  /**
   * Forgets everything the caches hold; every key is looked up again. Change feeds ask for
   * this after a gap in which they may have missed changes.
   */
  invalidateAll(): void {
    this.#cache?.clear();
    this.#unknown?.clear();
    this.#inflight.clear();
  }

  /** Writes pending last-used times and stops listening to the change feed. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#lastUsed?.close();
  }

  #lookup(id: string, now: number): Promise<LookupOutcome> | LookupOutcome {
    const unknownUntil = this.#unknown?.get(id);
    if (unknownUntil !== undefined) {
      if (now < unknownUntil) return UNKNOWN;
      this.#unknown!.delete(id);
    }
    const waiting = this.#inflight.get(id);
    if (waiting !== undefined) return waiting;
    const pending: Promise<LookupOutcome> = this.#fetch(id).then((outcome) => {
      // Only a lookup still current fills the caches: `invalidate` may have dropped this one
      // because the key changed while it ran. It still answers the requests that wait on it.
      if (this.#inflight.get(id) === pending) {
        this.#inflight.delete(id);
        if (outcome === UNKNOWN) this.#unknown?.set(id, this.#now() + this.#negativeTtlMs);
        else if (!(outcome instanceof AuthUnavailableError) && this.#cache !== undefined) {
          outcome.freshUntilMs = this.#now() + this.#cacheTtlMs;
          this.#cache.set(id, outcome);
        }
      }
      return outcome;
    });
    this.#inflight.set(id, pending);
    return pending;
  }

  /** One store call, bounded by the timeout. Never rejects: a failure is `AuthUnavailableError`. */
  async #fetch(id: string): Promise<LookupOutcome> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        Promise.resolve().then(() => this.#store.findById(id)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StoreTimeoutError(this.#storeTimeoutMs)),
            this.#storeTimeoutMs,
          );
        }),
      ]);
      return found === null || found === undefined ? UNKNOWN : this.#decode(id, found);
    } catch (error) {
      this.#reportError(error, { operation: 'lookup', keyId: id });
      return new AuthUnavailableError(this.#retryAfter, id);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks a record from the store; a record that makes no sense is a store fault, not a 401. */
  #decode(id: string, record: StoredKey): KnownKey {
    if (record === null || typeof record !== 'object' || record.id !== id) {
      throw new StoredRecordError(id, 'the store returned a record with another id');
    }
    if (typeof record.workspaceId !== 'string' || record.workspaceId.length === 0) {
      throw new StoredRecordError(id, 'workspaceId is missing');
    }
    if (!isScope(record.scope)) throw new StoredRecordError(id, 'scope is not a known scope');
    const hash = this.#hasher.decode(record.hash);
    if (hash === undefined) throw new StoredRecordError(id, 'hash is not in a known format');
    if (!this.#hasher.canVerify(hash)) {
      throw new StoredRecordError(
        id,
        `hash names pepper "${hash.pepperId}", which is not configured (hashing.previousPeppers)`,
      );
    }
    const expiresAt = storedDate(record.expiresAt, id, 'expiresAt');
    const revokedAt = storedDate(record.revokedAt, id, 'revokedAt');
    let rateRule = this.#rateLimit?.scopes[record.scope];
    if (record.rateLimit !== undefined && record.rateLimit !== null) {
      try {
        rateRule = rateLimitRule(record.rateLimit, 'key', 'rateLimit');
      } catch (error) {
        throw new StoredRecordError(id, (error as Error).message);
      }
    }
    return {
      id,
      kind: hash.scheme === 'jws-sha256' ? 'signed' : 'opaque',
      workspaceId: record.workspaceId,
      scope: record.scope,
      hash,
      revoked: revokedAt !== null,
      expiresAtMs: expiresAt === null ? Number.POSITIVE_INFINITY : expiresAt.getTime(),
      expiresAt,
      rateRule,
      rateBucket: rateRule === undefined ? id : `${id}:${rateRule.signature}`,
      principals: {},
      remembered: undefined,
      freshUntilMs: Number.NEGATIVE_INFINITY,
    };
  }

  /**
   * Principals are immutable, so one object per known key serves every request. `expiresAtMs`
   * is the key's expiry as `#admit` judged it: the record's, or a signed key's earlier `exp`
   * (which is the same for every request, since the record's hash admits one token only).
   */
  #principal(known: KnownKey, environment: KeyEnvironment, expiresAtMs: number): AuthenticatedKey {
    let key = known.principals[environment];
    if (key === undefined) {
      key = Object.freeze({
        keyId: known.id,
        workspaceId: known.workspaceId,
        scope: known.scope,
        environment,
        expiresAt: expiresAtMs === known.expiresAtMs ? known.expiresAt : new Date(expiresAtMs),
      });
      known.principals[environment] = key;
    }
    return key;
  }

  #reject(error: AnyAuthError, request: AuthRequest): AuthResult {
    if (this.#throttle !== undefined && FAILED_ATTEMPT_CODES.has(error.code)) {
      this.#throttle.recordFailure(request.ip, this.#now());
    }
    this.#reportRejection(error, request);
    return { ok: false, error };
  }

  #reportRejection(error: AnyAuthError, origin: Partial<RequestOrigin> | undefined): void {
    if (this.#hooks.onRejected === undefined) return;
    this.#callHook(this.#hooks.onRejected, {
      code: error.code,
      status: error.status,
      keyId: error.keyId,
      ip: origin?.ip,
      path: origin?.path,
    });
  }

  #callHook<E>(hook: (event: E) => void, event: E): void {
    try {
      hook.call(this.#hooks, event);
    } catch (error) {
      this.#reportError(error, { operation: 'hook' });
    }
  }

  #reportError(error: unknown, context: ErrorContext): void {
    try {
      this.#hooks.onError?.(error, context);
    } catch {
      // An error hook that throws has nowhere left to report to; the request is unaffected.
    }
  }
}

/**
 * For adapters: the authenticator a middleware should use, from options that are either an
 * `authenticator` made elsewhere or the options to build one, beside the adapter's own
 * (`adapterOptions`, their names). Authenticator options next to a ready authenticator would be
 * ignored, so they are a `ConfigurationError`.
 */
export function authenticatorFromOptions(
  options: (AuthenticatorOptions | { readonly authenticator: Authenticator }) & object,
  adapterOptions: readonly string[],
): Authenticator {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options are required: at least { store } or { authenticator }');
  }
  if (!('authenticator' in options) || options.authenticator === undefined) {
    return new Authenticator(options as AuthenticatorOptions);
  }
  if (!(options.authenticator instanceof Authenticator)) {
    throw new ConfigurationError('authenticator must be made by createAuthenticator()');
  }
  const ignored = Object.keys(options).filter(
    (name) => name !== 'authenticator' && !adapterOptions.includes(name),
  );
  if (ignored.length > 0) {
    throw new ConfigurationError(
      `${ignored.join(', ')} cannot be given with authenticator: pass them to createAuthenticator()`,
    );
  }
  return options.authenticator;
}

/** What every middleware adapter (Express, Koa) takes besides the authenticator's options. */
export interface MiddlewareOptions<Request, FailureMode extends string> {
  /** The route's workspace, read from the framework's request; `undefined` for none. */
  readonly workspace?: ((request: Request) => string | undefined) | undefined;
  /** How a refusal leaves the middleware: `'respond'`, or the adapter's hand-over mode. */
  readonly onFailure?: FailureMode | 'respond' | undefined;
}

/**
 * For middleware adapters: their options checked once, at creation. Returns the authenticator
 * (see `authenticatorFromOptions`), the workspace resolver and the failure mode, which is
 * `'respond'` or the adapter's `handOver` mode (`'next'` in Express, `'throw'` in Koa).
 */
export function middlewareOptions<Request, FailureMode extends string>(
  options: MiddlewareOptions<Request, FailureMode> &
    (AuthenticatorOptions | { readonly authenticator: Authenticator }),
  handOver: FailureMode,
): {
  authenticator: Authenticator;
  workspace: ((request: Request) => string | undefined) | undefined;
  onFailure: FailureMode | 'respond';
} {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('orkestaAuth(options) needs options: at least { store }');
  }
  const { workspace, onFailure = 'respond' } = options;
  if (workspace !== undefined && typeof workspace !== 'function') {
    throw new ConfigurationError('workspace must be a function (request) => string | undefined');
  }
  if (onFailure !== 'respond' && onFailure !== handOver) {
    throw new ConfigurationError(`onFailure must be "respond" or "${handOver}"`);
  }
  const authenticator = authenticatorFromOptions(options, ['workspace', 'onFailure']);
  return { authenticator, workspace, onFailure };
}

/** Builds an authenticator; every option is checked here, once. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  return new Authenticator(options);
}

/** Thrown into `onError` when the store does not answer within `storeTimeoutMs`. */
export class StoreTimeoutError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_STORE_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the key store did not answer within ${timeoutMs} ms`);
  }
  override get name(): string {
    return 'StoreTimeoutError';
  }
}

/** Thrown into `onError` when the store returns a record that cannot be used. */
export class StoredRecordError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_STORED_RECORD';
  readonly keyId: string;
  constructor(keyId: string, problem: string) {
    super(`stored key ${keyId} is unusable: ${problem}`);
    this.keyId = keyId;
  }
  override get name(): string {
    return 'StoredRecordError';
  }
}

/**
 * Whether `key` meets a route's requirement, in the contract's order: no key at all, then the
 * workspace, then the scope. The check behind `Authenticator.authorize`, without its hooks.
 */
export function checkAccess(
  key: AuthenticatedKey | undefined,
  requirement: AccessRequirement,
): AnyAuthError | undefined {
  return accessError(key, requirement.workspaceId, requirement.scope);
}

function accessError(
  key: AuthenticatedKey | undefined,
  workspaceId: string | undefined,
  scope: Scope | undefined,
): AnyAuthError | undefined {
  if (key === undefined) return new MissingApiKeyError();
  if (workspaceId !== undefined && workspaceId !== key.workspaceId) {
    return new WorkspaceMismatchError(key.keyId);
  }
  // An unknown required scope admits nothing: requireScope validates it at creation.
  if (scope !== undefined && !(isScope(scope) && scopeSatisfies(key.scope, scope))) {
    return new InsufficientScopeError(key.keyId, scope);
  }
  return undefined;
}

/** The refusals that count as failed attempts for brute-force throttling. */
const FAILED_ATTEMPT_CODES: ReadonlySet<AnyAuthError['code']> = new Set([
  'malformed_authorization_header',
  'invalid_api_key',
  'api_key_revoked',
  'api_key_expired',
]);

/** The store's `recordLastUsed`, bound, when it has one (a `KeyStore` does; a bare lookup need not). */
function lastUsedWriter(
  store: KeyLookup & Partial<Pick<KeyStore, 'recordLastUsed'>>,
): KeyStore['recordLastUsed'] | undefined {
  const write = store.recordLastUsed;
  return typeof write === 'function' ? (batch) => write.call(store, batch) : undefined;
}

function storedDate(value: unknown, id: string, field: string): Date | null {
  if (value === null || value === undefined) return null;
  const date = toDate(value);
  if (date === undefined) throw new StoredRecordError(id, `${field} is not a date`);
  return date;
}

function validateEnvironments(value: readonly KeyEnvironment[] | undefined): Set<KeyEnvironment> {
  if (value === undefined) return new Set(KEY_ENVIRONMENTS);
  if (!Array.isArray(value) || value.length === 0 || !value.every(isKeyEnvironment)) {
    throw new ConfigurationError('environments must be a non-empty list of "live" and "test"');
  }
  return new Set(value);
}

function validateHooks(hooks: AuthHooks | undefined): AuthHooks {
  if (hooks === undefined) return {};
  if (hooks === null || typeof hooks !== 'object') {
    throw new ConfigurationError('hooks must be an object of functions');
  }
  for (const name of ['onAuthenticated', 'onRejected', 'onError', 'onInsecureKey'] as const) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function') {
      throw new ConfigurationError(`hooks.${name} must be a function`);
    }
  }
  return hooks;
}

/**
 * The key id of a token shaped like a key: an opaque key with its checksum right, or a signed
 * key (its signature is not checked here: the stored hash of the whole token decides).
 */
function wellFormedKeyId(token: string): string | undefined {
  if (hasSignedKeyPrefix(token)) return parseSignedKey(token)?.id;
  const shape = readKeyShape(token);
  return shape !== undefined && hasValidChecksum(token) ? shape.id : undefined;
}
