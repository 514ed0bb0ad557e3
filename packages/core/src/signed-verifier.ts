import { createPublicKey } from 'node:crypto';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { ConfigurationError } from './errors.js';
import { rejectUnknownOptions } from './options.js';
import type { Scope } from './scopes.js';
import { isScope } from './scopes.js';
import type { ParsedSignedKey } from './signed-key.js';
import { SIGNED_KEY_TYPE } from './signed-key.js';
import type { SigningAlgorithm } from './signing.js';
import { algorithmOf, checkPublicJwks, SIGNING_ALGORITHMS } from './signing.js';
import { MAX_TIMER_MS, optionalBoolean, positiveInteger } from './validate.js';

/** The issuer's JWKS at a URL, fetched by jose's `createRemoteJWKSet` and kept in memory. */
export interface RemoteJwksOptions {
  /** Where the issuer publishes its JWKS: `https:`, or `http:` on a loopback address only. */
  readonly url: string | URL;
  /**
   * The least time between two fetches, in ms, by the authenticator's clock: a key with an
   * unknown `kid` makes one fetch at most per cool-down (and concurrent ones share it), and after
   * a failed fetch none is tried again for as long (keys not verified yet get 503 meanwhile).
   * Default 30,000.
   */
  readonly cooldownMs?: number;
  /** How long a fetched JWKS serves before it is fetched again, in ms (the authenticator's clock). Default 600,000. */
  readonly maxAgeMs?: number;
  /** A fetch slower than this fails, and the request gets 503 `auth_unavailable`. Default 5,000 ms. */
  readonly timeoutMs?: number;
}

/** How an authenticator verifies signed keys (`orks_…`). Without it, they are `invalid_api_key`. */
export interface SignedKeyOptions {
  /** The `iss` a key must carry: the issuer's `SigningKeys.issuer`. */
  readonly issuer: string;
  /** The `aud` a key must carry: the issuer's `SigningKeys.audience`. */
  readonly audience: string;
  /** The issuer's public keys: a JWKS (`signingKeys.jwks()`), or `{ url }` to fetch it. */
  readonly jwks: JSONWebKeySet | RemoteJwksOptions;
  /** Signature algorithms accepted. Default `['EdDSA']`; add `'ES256'` for P-256 keys. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /**
   * Remember each verified key in its cache entry, so that the next request with the same key
   * compares it (constant time) instead of checking its signature again. Revocation and expiry
   * still apply on every request. Default `true`.
   */
  readonly verificationCache?: boolean;
}

/** A signed key's claims, once its signature, `typ`, issuer, audience and dates passed. */
export interface VerifiedClaims {
  readonly workspaceId: string;
  readonly scope: Scope;
  /** The `exp` claim in epoch ms; infinite for a key without one. May be in the past. */
  readonly expiresAtMs: number;
}

/** The JWKS could not be fetched or read: the issuer's side, not the key's. */
export class JwksUnavailable {
  constructor(readonly cause: unknown) {}
}

/** Verified claims, `undefined` for a key that is not valid, or `JwksUnavailable`. */
export type SignedVerification = VerifiedClaims | undefined | JwksUnavailable;

/**
 * jose failures that condemn the token: its form, its algorithm, its signature, its claims or
 * its `kid`. Any other failure (a JWKS that cannot be fetched, parsed or imported) is the
 * issuer's side, and fails closed with 503.
 */
const TOKEN_FAILURES: ReadonlySet<string> = new Set([
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

const SIGNED_KEY_OPTIONS = ['issuer', 'audience', 'jwks', 'algorithms', 'verificationCache'];
const REMOTE_JWKS_OPTIONS = ['url', 'cooldownMs', 'maxAgeMs', 'timeoutMs'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const WORKSPACE_MAX = 200;

/** Verifies the JWS of signed keys with jose, against a local or a remote JWKS. */
export class SignedKeyVerifier {
  readonly verificationCache: boolean;
  readonly #keys: JWTVerifyGetKey;
  readonly #options: JWTVerifyOptions;

  /** `now` is the authenticator's clock: it judges the freshness of a remote JWKS too. */
  constructor(options: SignedKeyOptions, now: () => number) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('signedKeys must be { issuer, audience, jwks }');
    }
    rejectUnknownOptions(options, SIGNED_KEY_OPTIONS, 'signedKeys');
    const issuer = requiredText(options.issuer, 'signedKeys.issuer');
    const audience = requiredText(options.audience, 'signedKeys.audience');
    const algorithms = validateAlgorithms(options.algorithms);
    this.verificationCache = optionalBoolean(
      options.verificationCache,
      'signedKeys.verificationCache',
      true,
    );
    const { jwks } = options;
    if (jwks !== null && typeof jwks === 'object' && 'url' in jwks) {
      this.#keys = remoteKeySet(jwks, now);
    } else {
      this.#keys = localKeySet(jwks, algorithms);
    }
    this.#options = {
      issuer,
      audience,
      algorithms: [...algorithms],
      typ: SIGNED_KEY_TYPE,
      requiredClaims: ['jti', 'iat', 'workspace', 'scope', 'env'],
    };
  }

  /**
   * Checks the JWS of `key` at `now` (epoch ms; jose compares whole seconds, with no clock
   * tolerance). An expired key still resolves to its claims, with `expiresAtMs` in the past, so
   * that the pipeline answers `api_key_revoked` before `api_key_expired` as it does for opaque
   * keys. Never rejects.
   */
  async verify(key: ParsedSignedKey, now: number): Promise<SignedVerification> {
    let payload: JWTPayload;
    try {
      payload = (
        await jwtVerify(key.jws, this.#keys, { ...this.#options, currentDate: new Date(now) })
      ).payload;
    } catch (error) {
      // jose checks `exp` last of all (after signature, typ, iss, aud and nbf).
      if (error instanceof errors.JWTExpired && error.claim === 'exp') payload = error.payload;
      else if (error instanceof errors.JOSEError && TOKEN_FAILURES.has(error.code)) {
        return undefined;
      } else return new JwksUnavailable(error);
    }
    return claimsOf(payload, key);
  }
}

/** The claims of our own kind of key, which jose leaves to us; `undefined` if one is wrong. */
function claimsOf(payload: JWTPayload, key: ParsedSignedKey): VerifiedClaims | undefined {
  const { jti, env, workspace, scope, iat, exp, nbf } = payload;
  // The prefix is not signed: it must say what the signed claims say.
  if (jti !== key.id || env !== key.environment) return undefined;
  if (typeof workspace !== 'string' || workspace.length === 0 || workspace.length > WORKSPACE_MAX) {
    return undefined;
  }
  if (!isScope(scope)) return undefined;
  // Whole seconds only: a fractional date would make the token's boundary and the store's differ.
  for (const date of [iat, exp, nbf]) {
    if (date !== undefined && !Number.isSafeInteger(date)) return undefined;
  }
  return {
    workspaceId: workspace,
    scope,
    expiresAtMs: exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000,
  };
}

function localKeySet(
  jwks: JSONWebKeySet | undefined,
  algorithms: readonly SigningAlgorithm[],
): JWTVerifyGetKey {
  if (jwks === undefined) {
    throw new ConfigurationError(
      'signedKeys.jwks is required: a JWKS ({ keys }) or a remote one ({ url })',
    );
  }
  for (const jwk of checkPublicJwks(jwks).keys) {
    const kid = String(jwk.kid);
    let algorithm: SigningAlgorithm;
    try {
      algorithm = algorithmOf(createPublicKey({ key: jwk as never, format: 'jwk' }), kid);
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      throw new ConfigurationError(`JWKS key "${kid}" is not a public key Node can read`);
    }
    if (jwk.alg !== undefined && jwk.alg !== algorithm) {
      throw new ConfigurationError(
        `JWKS key "${kid}" says alg ${jwk.alg}, but it is an ${algorithm} key`,
      );
    }
    if (!algorithms.includes(algorithm)) {
      throw new ConfigurationError(
        `JWKS key "${kid}" is an ${algorithm} key, which signedKeys.algorithms does not allow`,
      );
    }
  }
  return createLocalJWKSet(jwks);
}

/**
 * The issuer's JWKS at a URL: jose's `createRemoteJWKSet` fetches it (one fetch at a time, with
 * its timeout) and verifies against it, while the authenticator's clock decides when to fetch:
 * jose's own freshness reads the wall clock, so it is told never to go stale, and this asks it
 * to `reload()` once the copy is `maxAgeMs` old, or for an unknown `kid` at most once per
 * `cooldownMs`. After a failed fetch, nothing is fetched for `cooldownMs`: the failure answers.
 */
function remoteKeySet(options: RemoteJwksOptions, now: () => number): JWTVerifyGetKey {
  rejectUnknownOptions(options, REMOTE_JWKS_OPTIONS, 'signedKeys.jwks');
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigurationError('signedKeys.jwks.url must be an absolute URL');
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    throw new ConfigurationError(
      'signedKeys.jwks.url must be https: (http: only on a loopback address), or anyone on the way could hand you keys',
    );
  }
  const cooldownMs = positiveInteger(
    options.cooldownMs,
    'signedKeys.jwks.cooldownMs',
    30_000,
    MAX_TIMER_MS,
  );
  const maxAgeMs = positiveInteger(options.maxAgeMs, 'signedKeys.jwks.maxAgeMs', 600_000);
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: Number.POSITIVE_INFINITY,
    cacheMaxAge: Number.POSITIVE_INFINITY,
    timeoutDuration: positiveInteger(
      options.timeoutMs,
      'signedKeys.jwks.timeoutMs',
      5_000,
      MAX_TIMER_MS,
    ),
  });
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let failure: { readonly at: number; readonly error: unknown } | undefined;
  const reload = async (): Promise<void> => {
    if (failure !== undefined && now() - failure.at < cooldownMs) throw failure.error;
    try {
      await remote.reload();
      fetchedAt = now();
      failure = undefined;
    } catch (error) {
      failure = { at: now(), error };
      throw error;
    }
  };
  return async (header, token) => {
    if (now() - fetchedAt >= maxAgeMs) await reload();
    try {
      return await remote(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || now() - fetchedAt < cooldownMs) {
        throw error;
      }
      await reload();
      return remote(header, token);
    }
  };
}

function validateAlgorithms(value: unknown): readonly SigningAlgorithm[] {
  if (value === undefined) return ['EdDSA'];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((algorithm) => SIGNING_ALGORITHMS.includes(algorithm))
  ) {
    throw new ConfigurationError(
      `signedKeys.algorithms must be a non-empty list of ${SIGNING_ALGORITHMS.join(', ')}`,
    );
  }
  return value;
}

function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigurationError(`${name} is required: the value the issuer's SigningKeys use`);
  }
  return value;
}
