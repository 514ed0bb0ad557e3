import type { KeyEnvironment, KeyShape } from '../key-format.js';
import { readCheckedKey } from '../key-format.js';
import type { ParsedSignedKey } from '../signed-key.js';
import { hasSignedKeyPrefix, parseSignedKey } from '../signed-key.js';
import type { VerifiedClaims } from '../signed-verifier.js';

/** A key as a request presents it: format checked, whole token kept for the compare step. */
export interface PresentedKey extends KeyShape {
  readonly token: string;
  /** A signed key's verified claims; `undefined` for an opaque key. */
  readonly signed: VerifiedClaims | undefined;
}

/**
 * The format step of an opaque key (`ork_…`): prefix, length, alphabet and checksum, then an
 * accepted environment. `undefined` (401 `invalid_api_key`) for anything else, which
 * then touches neither the cache nor the store nor a hash.
 */
export function presentedOpaqueKey(
  token: string,
  environments: ReadonlySet<KeyEnvironment>,
): PresentedKey | undefined {
  const shape = readCheckedKey(token);
  if (shape === undefined || !environments.has(shape.environment)) return undefined;
  return { environment: shape.environment, id: shape.id, token, signed: undefined };
}

/**
 * The format step of a signed key (`orks_…`), before its signature: prefix, shape, length and an
 * accepted environment. `undefined` (401 `invalid_api_key`) for anything else, and for every
 * signed key when the authenticator verifies none. The JWS itself is checked next, by
 * `SignedKeyVerifier.verify`.
 */
export function parsedSignedKey(
  token: string,
  environments: ReadonlySet<KeyEnvironment>,
  accepted: boolean,
): ParsedSignedKey | undefined {
  if (!accepted) return undefined;
  const parsed = parseSignedKey(token);
  return parsed !== undefined && environments.has(parsed.environment) ? parsed : undefined;
}

/**
 * The key id of a token of either kind's format: an opaque key with its checksum right, or a
 * signed key's shape (its signature is not checked: the stored hash of the whole token decides).
 * For reporting a key sent over plain HTTP, whatever environments are accepted.
 */
export function wellFormedKeyId(token: string): string | undefined {
  if (hasSignedKeyPrefix(token)) return parseSignedKey(token)?.id;
  return readCheckedKey(token)?.id;
}
