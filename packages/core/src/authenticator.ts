import type {
  AccessRequirement,
  AuthenticatedKey,
  AuthRequest,
  AuthResult,
  RequestOrigin,
} from './auth-request.js';
import type { AuthenticatorOptions, AuthenticatorSettings } from './authenticator-options.js';
import { resolveAuthenticatorOptions } from './authenticator-options.js';
import type { AnyAuthError } from './errors.js';
import {
  AuthUnavailableError,
  InvalidApiKeyError,
  isAuthError,
  MissingApiKeyError,
} from './errors.js';
import type { HookCaller, LookupEvent } from './hooks.js';
import type { InsecureKeyCheck } from './insecure-key.js';
import { reportInsecureKey } from './insecure-key.js';
import { KeyCache } from './key-cache.js';
import { LastUsedRecorder } from './last-used.js';
import type { RenderedError } from './render.js';
import type { ParsedSignedKey } from './signed-key.js';
import { hasSignedKeyPrefix } from './signed-key.js';
import type { SignedVerification } from './signed-verifier.js';
import { JwksUnavailable } from './signed-verifier.js';
import { matchesStoredKey } from './steps/compare.js';
import { extractBearerToken } from './steps/extract.js';
import type { PresentedKey } from './steps/format.js';
import { parsedSignedKey, presentedOpaqueKey } from './steps/format.js';
import type { LookupOutcome } from './steps/lookup.js';
import { lookUpInStore, UNKNOWN } from './steps/lookup.js';
import type { RateAnswer } from './steps/rate.js';
import { takeRate } from './steps/rate.js';
import { scopeError } from './steps/scope.js';
import { expiryOf, statusError } from './steps/status.js';
import { FAILED_ATTEMPT_CODES, throttleError } from './steps/throttle.js';
import { transportError } from './steps/transport.js';
import { workspaceError } from './steps/workspace.js';
import type { KnownKey } from './stored-record.js';
import { decodeStoredKey, principalOf } from './stored-record.js';

/**
 * The authenticate pipeline of the behaviour contract, built once from checked options. Each
 * step is a function of its own file under `steps/` (the table in the package README maps them);
 * this class runs them in the contract's order and decides what every answer leaves behind:
 * hooks, last-used times, failed attempts.
 */
export class Authenticator {
  readonly #settings: AuthenticatorSettings;
  readonly #hooks: HookCaller;
  readonly #now: () => number;
  readonly #cache: KeyCache;
  readonly #lastUsed: LastUsedRecorder | undefined;
  readonly #insecure: InsecureKeyCheck;
  readonly #reportRateLimiter = (error: unknown, keyId: string): void =>
    this.#hooks.error(error, { operation: 'rate-limit', keyId });

  constructor(options: AuthenticatorOptions) {
    const settings = resolveAuthenticatorOptions(options);
    this.#settings = settings;
    this.#hooks = settings.hooks;
    this.#now = settings.now;
    const { store, storeTimeoutMs, retryAfterSeconds, hasher, rateLimit, hooks } = settings;
    const call = {
      store,
      timeoutMs: storeTimeoutMs,
      retryAfterSeconds,
      decode: (id: string, record: Parameters<typeof decodeStoredKey>[1]) =>
        decodeStoredKey(id, record, hasher, rateLimit?.scopes),
      report: (error: unknown, keyId: string) =>
        this.#hooks.error(error, { operation: 'lookup', keyId }),
      observe: (event: LookupEvent) => this.#hooks.lookedUp(event),
    };
    this.#cache = new KeyCache(
      settings.cache,
      (id) => lookUpInStore(call, id),
      this.#now,
      settings.changeFeed,
    );
    if (settings.lastUsed !== undefined) {
      this.#lastUsed = new LastUsedRecorder(
        settings.lastUsed.write,
        settings.lastUsed.intervalMs,
        (error) => this.#hooks.error(error, { operation: 'last-used' }),
      );
    }
    const { maxHeaderLength, throttle } = settings;
    this.#insecure = {
      maxHeaderLength,
      cache: this.#cache,
      hasher,
      throttle,
      hooks,
      now: this.#now,
    };
  }

  /** The realm of this authenticator's challenges. */
  get realm(): string {
    return this.#settings.renderer.realm;
  }

  /**
   * Runs the contract pipeline: transport, extract, (a remembered token skips to status),
   * throttle, format (a signed key's signature too), lookup, compare, status, workspace, rate,
   * scope. Resolves to the key or to the first
   * failure; never rejects.
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
    const settings = this.#settings;
    const insecure = transportError(request, settings.requireHttps);
    if (insecure !== undefined) {
      // Decided before the header is read; the key is read after, only to report a leak.
      const refused = this.#refuse(insecure, request);
      if (this.#hooks.wantsInsecureKeys) reportInsecureKey(this.#insecure, request);
      return refused;
    }
    const token = extractBearerToken(request.authorization, settings.maxHeaderLength);
    if (typeof token !== 'string') return this.#refuse(token, request);
    // One clock reading serves every step decided now (a lookup reads it again).
    const now = this.#now();

    // The remembered-token fast path: the very token a cache entry's hash has already accepted.
    // Equal to a token that passed format and compare, it skips them; lookup is the entry
    // itself, and every step from status on runs as for any request. It comes before the
    // throttle: matching it needs no lookup and proves the key, so a genuine key is not locked
    // out by a flood from an address it shares, and a throttled address learns nothing from it
    // (any other token still gets the throttle's 429).
    const entry = this.#cache.remembered(token, now);
    if (entry !== undefined) {
      const { environment, signed } = entry.remembered!;
      return this.#proven(entry, { environment, id: entry.id, token, signed }, request, now);
    }

    const throttled = throttleError(settings.throttle, request, now);
    if (throttled !== undefined) return this.#refuse(throttled, request);

    if (hasSignedKeyPrefix(token)) {
      const parsed = parsedSignedKey(token, settings.environments, settings.signed !== undefined);
      if (parsed === undefined) return this.#refuse(new InvalidApiKeyError(), request);
      return settings
        .signed!.verify(parsed, this.#now())
        .then((verified) => this.#afterSignature(parsed, verified, request));
    }
    // An opaque token passes its format, checksum included, before it may touch the cache, a
    // lookup or a hash.
    const presented = presentedOpaqueKey(token, settings.environments);
    if (presented === undefined) return this.#refuse(new InvalidApiKeyError(), request);
    return this.#lookUp(presented, request, now);
  }

  /** The rest of a signed key's format step: its JWS, checked by jose against the JWKS. */
  #afterSignature(
    key: ParsedSignedKey,
    verified: SignedVerification,
    request: AuthRequest,
  ): AuthResult | Promise<AuthResult> {
    if (verified === undefined) return this.#refuse(new InvalidApiKeyError(), request);
    if (verified instanceof JwksUnavailable) {
      this.#hooks.error(verified.cause, { operation: 'jwks', keyId: key.id });
      const unavailable = new AuthUnavailableError(this.#settings.retryAfterSeconds, key.id);
      return this.#refuse(unavailable, request);
    }
    const { environment, id, token } = key;
    return this.#lookUp({ environment, id, token, signed: verified }, request, this.#now());
  }

  /** The lookup step: the cache, else the store (one call for concurrent misses). */
  #lookUp(
    presented: PresentedKey,
    request: AuthRequest,
    now: number,
  ): AuthResult | Promise<AuthResult> {
    const cached = this.#cache.cached(presented.id, now);
    if (cached !== undefined) return this.#compare(cached, presented, request, now);
    const looked = this.#cache.lookup(presented.id, now);
    if (looked instanceof Promise) {
      // Decided when the store has answered: an expiry that passed meanwhile counts.
      return looked.then((outcome) => this.#compare(outcome, presented, request, this.#now()));
    }
    return this.#compare(looked, presented, request, now);
  }

  /** What the lookup found, then the compare step. */
  #compare(
    known: LookupOutcome,
    presented: PresentedKey,
    request: AuthRequest,
    now: number,
  ): AuthResult | Promise<AuthResult> {
    if (known === UNKNOWN) return this.#refuse(new InvalidApiKeyError(presented.id), request);
    if (known instanceof AuthUnavailableError) return this.#refuse(known, request);
    const { hasher, signed } = this.#settings;
    if (!matchesStoredKey(known, presented, hasher, signed?.verificationCache === true)) {
      return this.#refuse(new InvalidApiKeyError(presented.id), request);
    }
    return this.#proven(known, presented, request, now);
  }

  /**
   * The status step, and what follows once the key is proven: it counts as used (last-used,
   * `onAuthenticated`) whatever the workspace, rate and scope steps then decide, so that every
   * adapter, whether it knows the route's requirement now (Nest) or later (`requireScope`),
   * leaves the same hooks and store writes behind.
   */
  #proven(
    known: KnownKey,
    presented: PresentedKey,
    request: AuthRequest,
    now: number,
  ): AuthResult | Promise<AuthResult> {
    const expiresAtMs = expiryOf(known, presented);
    const status = statusError(known, expiresAtMs, now);
    if (status !== undefined) return this.#refuse(status, request);
    const key = principalOf(known, presented.environment, expiresAtMs);
    this.#lastUsed?.touch(known.id, now);
    this.#hooks.authenticated(key, request);

    const mismatch = workspaceError(key, request.workspaceId);
    if (mismatch !== undefined) return this.#refuse(mismatch, request, undefined, key);
    const { rateLimit, retryAfterSeconds } = this.#settings;
    const rate = takeRate(rateLimit, known, now, retryAfterSeconds, this.#reportRateLimiter);
    if (rate instanceof Promise)
      return rate.then((answer) => this.#afterRate(key, answer, request));
    return this.#afterRate(key, rate, request);
  }

  /** The rate step's answer, then the scope step, last of all. */
  #afterRate(key: AuthenticatedKey, rate: RateAnswer, request: AuthRequest): AuthResult {
    if (isAuthError(rate)) return this.#refuse(rate, request, undefined, key);
    const denied = scopeError(key, request.requiredScope);
    // The request has used its rate either way: a refusal tells the client so, as an admission
    // does, and as a `requireScope` refusal after an admitting middleware does.
    if (denied !== undefined) return this.#refuse(denied, request, rate, key);
    return rate === undefined ? { ok: true, key } : { ok: true, key, headers: rate };
  }

  /**
   * The access steps (workspace, then scope) for a requirement known only after `authenticate`,
   * such as `requireScope` middleware: the same checks, in the same order, reported to
   * `onRejected` like any refusal. Without a key (no authenticator ran), 401 `missing_api_key`.
   */
  authorize(
    key: AuthenticatedKey | undefined,
    requirement: AccessRequirement,
    origin?: Partial<RequestOrigin>,
  ): AnyAuthError | undefined {
    const denied = checkAccess(key, requirement);
    if (denied !== undefined) this.#hooks.rejected(denied, origin, key);
    return denied;
  }

  /** The response for a failure: status, headers (challenge, Retry-After) and problem+json body. */
  render(error: AnyAuthError): RenderedError {
    return this.#settings.renderer.render(error);
  }

  /**
   * Sets `error.headers` to the headers `render` would send (challenge, `Retry-After`, content
   * type), for frameworks whose error handling reads them from the error. Returns `error`.
   */
  withHeaders<E extends AnyAuthError>(error: E): E {
    error.headers = this.#settings.renderer.render(error).headers;
    return error;
  }

  /** Forgets what the caches hold about `keyId`; the next request asks the store. */
  invalidate(keyId: string): void {
    this.#cache.invalidate(keyId);
  }

  /**
   * Forgets everything the caches hold; every key is looked up again. Change feeds ask for
   * this after a gap in which they may have missed changes.
   */
  invalidateAll(): void {
    this.#cache.invalidateAll();
  }

  /** Writes the pending last-used times now, in one batch, rather than at the next interval. */
  async flushLastUsed(): Promise<void> {
    await this.#lastUsed?.flush();
  }

  /** Writes pending last-used times and stops listening to the change feed. */
  async close(): Promise<void> {
    this.#cache.close();
    await this.#lastUsed?.close();
  }

  /**
   * A refusal, and what it leaves behind: a failed attempt of the client address, `onRejected`
   * (with the key, when it was proven before the refusal).
   */
  #refuse(
    error: AnyAuthError,
    request: AuthRequest,
    headers?: Readonly<Record<string, string>>,
    key?: AuthenticatedKey,
  ): AuthResult {
    const { throttle } = this.#settings;
    if (throttle !== undefined && FAILED_ATTEMPT_CODES.has(error.code)) {
      throttle.recordFailure(request.ip, this.#now());
    }
    this.#hooks.rejected(error, request, key);
    return headers === undefined ? { ok: false, error } : { ok: false, error, headers };
  }
}

/**
 * Whether `key` meets a route's requirement, in the contract's order: no key at all (401
 * `missing_api_key`), then the workspace, then the scope. The check behind
 * `Authenticator.authorize`, without its hooks; the pipeline runs the same step functions.
 */
export function checkAccess(
  key: AuthenticatedKey | undefined,
  requirement: AccessRequirement,
): AnyAuthError | undefined {
  if (key === undefined) return new MissingApiKeyError();
  return workspaceError(key, requirement.workspaceId) ?? scopeError(key, requirement.scope);
}

/** Builds an authenticator; every option is checked here, once. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  return new Authenticator(options);
}
