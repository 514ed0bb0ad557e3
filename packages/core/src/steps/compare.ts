import type { KeyHasher } from '../hashing.js';
import type { KnownKey } from '../stored-record.js';
import type { PresentedKey } from './format.js';

/**
 * The compare step: the stored record decides. Its kind must be the presented key's, a signed
 * key's claims must name the record's workspace and scope, and the stored hash must accept the
 * token (constant-time compare, `KeyHasher.verify`). A token it accepts is remembered in the
 * entry for the fast path (see `KeyCache#remembered`); a signed one only if `rememberSigned`
 * (`signedKeys.verificationCache`).
 */
export function matchesStoredKey(
  known: KnownKey,
  presented: PresentedKey,
  hasher: KeyHasher,
  rememberSigned: boolean,
): boolean {
  const { signed } = presented;
  const sameKind =
    signed === undefined
      ? known.kind === 'opaque'
      : known.kind === 'signed' &&
        known.workspaceId === signed.workspaceId &&
        known.scope === signed.scope;
  if (!sameKind || !hasher.verify(presented.token, known.hash)) return false;
  if (signed === undefined || rememberSigned) {
    known.remembered = {
      bytes: Buffer.from(presented.token, 'latin1'),
      environment: presented.environment,
      signed,
    };
  }
  return true;
}
