import { ApiKeyExpiredError, ApiKeyRevokedError } from '../errors.js';
import type { KnownKey } from '../stored-record.js';
import type { PresentedKey } from './format.js';

/** When the presented key expires: a signed key at the earlier of its `exp` and its record's. */
export function expiryOf(known: KnownKey, presented: PresentedKey): number {
  const signedExpiry = presented.signed?.expiresAtMs;
  return signedExpiry === undefined || signedExpiry >= known.expiresAtMs
    ? known.expiresAtMs
    : signedExpiry;
}

/**
 * The status step: a revoked key is 401 `api_key_revoked` (revocation wins over expiry); a key
 * at or past its expiry (`now >= expiresAtMs`, to the millisecond) is 401 `api_key_expired`.
 */
export function statusError(
  known: KnownKey,
  expiresAtMs: number,
  now: number,
): ApiKeyRevokedError | ApiKeyExpiredError | undefined {
  if (known.revoked) return new ApiKeyRevokedError(known.id);
  if (now >= expiresAtMs) return new ApiKeyExpiredError(known.id);
  return undefined;
}
