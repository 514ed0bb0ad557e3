import type { AuthenticatedKey } from './auth-request.js';
import { StoredRecordError } from './errors.js';
import type { DecodedHash, KeyHasher } from './hashing.js';
import type { KeyEnvironment } from './key-format.js';
import type { RateLimitRule } from './rate-limit.js';
import { rateLimitRule } from './rate-limit.js';
import type { Scope } from './scopes.js';
import { isScope } from './scopes.js';
import type { KeyKind } from './signed-key.js';
import type { VerifiedClaims } from './signed-verifier.js';
import type { StoredKey } from './store-types.js';
import { toDate } from './validate.js';

/** The token a cache entry's key last matched, kept in memory; see `KeyCache#remembered`. */
export interface RememberedToken {
  /** The token's characters, one byte each (keys are ASCII); see `equalInConstantTime`. */
  readonly bytes: Uint8Array;
  readonly environment: KeyEnvironment;
  readonly signed: VerifiedClaims | undefined;
}

/** A verified store record, decoded once and kept in the cache. */
export interface KnownKey {
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
  /** The token that last matched `hash`; see `KeyCache#remembered`. */
  remembered: RememberedToken | undefined;
  /** When the cache entry stops answering and the store is asked again (clock ms). */
  freshUntilMs: number;
}

/**
 * Record decoding: checks a record from the store once, when it is looked up. A record that
 * makes no sense (another id, no workspace, an unknown scope, a hash in no known form or under a
 * pepper not configured, a date that is not one, a bad rate) is a store fault, thrown as
 * `StoredRecordError`: the request gets 503, never 401, and never gets in.
 */
export function decodeStoredKey(
  id: string,
  record: StoredKey,
  hasher: KeyHasher,
  scopeRates: Readonly<Partial<Record<Scope, RateLimitRule>>> | undefined,
): KnownKey {
  if (record === null || typeof record !== 'object' || record.id !== id) {
    throw new StoredRecordError(id, 'the store returned a record with another id');
  }
  if (typeof record.workspaceId !== 'string' || record.workspaceId.length === 0) {
    throw new StoredRecordError(id, 'workspaceId is missing');
  }
  if (!isScope(record.scope)) throw new StoredRecordError(id, 'scope is not a known scope');
  const hash = hasher.decode(record.hash);
  if (hash === undefined) throw new StoredRecordError(id, 'hash is not in a known format');
  if (!hasher.canVerify(hash)) {
    throw new StoredRecordError(
      id,
      `hash names pepper "${hash.pepperId}", which is not configured (hashing.previousPeppers)`,
    );
  }
  const expiresAt = storedDate(record.expiresAt, id, 'expiresAt');
  const revokedAt = storedDate(record.revokedAt, id, 'revokedAt');
  let rateRule = scopeRates?.[record.scope];
  if (record.rateLimit !== undefined && record.rateLimit !== null) {
    try {
      rateRule = rateLimitRule(record.rateLimit, 'key', 'rateLimit', 'ignore');
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
 * The principal of `known` for a token of `environment`. Principals are immutable, so one object
 * per known key serves every request. `expiresAtMs` is the key's expiry as the status step
 * judged it: the record's, or a signed key's earlier `exp` (the same for every request, since
 * the record's hash admits one token only).
 */
export function principalOf(
  known: KnownKey,
  environment: KeyEnvironment,
  expiresAtMs: number,
): AuthenticatedKey {
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

function storedDate(value: unknown, id: string, field: string): Date | null {
  if (value === null || value === undefined) return null;
  const date = toDate(value);
  if (date === undefined) throw new StoredRecordError(id, `${field} is not a date`);
  return date;
}
