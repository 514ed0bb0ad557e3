import type { KeyEnvironment, KeyShape } from './key-format.js';
import { readCheckedKey } from './key-format.js';

/**
 * A signed key: the key id in the clear, then a compact JWS that the issuing service signed.
 *
 *     orks_<env>_<id>_<protected header>.<claims>.<signature>
 *
 * `orks_` (not `ork_`) marks the kind before anything is decoded, so scanners and the parser
 * tell the two kinds apart from the first five characters. The JWS is an ordinary compact JWT
 * (`typ` `orkesta-key+jwt`); its claims repeat the id (`jti`) and the environment (`env`),
 * which are signed there and only copied into the prefix for people, logs and the cache.
 */
export const SIGNED_KEY_PREFIX = 'orks';

/** The JWS `typ` header of every signed key, so that no other JWT of the issuer passes as one. */
export const SIGNED_KEY_TYPE = 'orkesta-key+jwt';

/**
 * The longest signed key read: longer ones are refused before anything is decoded. Keys the
 * issuer makes stay well under it (its issuer, audience and kid lengths are bounded).
 */
export const SIGNED_KEY_MAX_LENGTH = 1_000;

/**
 * What secret scanners match: `orks_(live|test)_<12 base62>_eyJ….eyJ….<86 base64url>` (both
 * EdDSA and ES256 signatures are 64 bytes). Unanchored and not global, like
 * `API_KEY_SCANNER_PATTERN`; neither pattern matches a key of the other kind.
 */
export const SIGNED_KEY_SCANNER_PATTERN =
  /orks_(live|test)_[0-9A-Za-z]{12}_eyJ[0-9A-Za-z_-]+\.eyJ[0-9A-Za-z_-]+\.[0-9A-Za-z_-]{86}/;

// The parser's shape: three base64url segments, JSON objects for header and claims, any
// signature length (jose refuses a wrong one, or an empty one for `alg: none`).
const SIGNED_SHAPE =
  /^orks_(?:live|test)_[0-9A-Za-z]{12}_eyJ[0-9A-Za-z_-]*\.eyJ[0-9A-Za-z_-]*\.[0-9A-Za-z_-]*$/;

const ID_START = 10; // after `orks_live_`
const ID_END = ID_START + 12;
const JWS_START = ID_END + 1;
const LOWER_L = 0x6c;

/** The two kinds of key: `ork_…` (a random secret, hashed at rest) and `orks_…` (signed). */
export type KeyKind = 'opaque' | 'signed';

/** A signed key as `parseSignedKey` returns it. The signature is not checked. */
export interface ParsedSignedKey extends KeyShape {
  /** The compact JWS after the prefix. */
  readonly jws: string;
  /** The whole plaintext: never log it. */
  readonly token: string;
}

/** What a signed key's JWS claims, as the issuer writes them. */
export interface SignedKeyClaims {
  readonly iss: string;
  readonly aud: string;
  /** The key id, as in the prefix. */
  readonly jti: string;
  readonly workspace: string;
  readonly scope: string;
  /** The environment, as in the prefix. */
  readonly env: KeyEnvironment;
  /** Issue time, epoch seconds. */
  readonly iat: number;
  /** Expiry, epoch seconds, when the key has one. */
  readonly exp?: number;
}

/** Whether `token` starts like a signed key (`orks_`): the one test that picks the kind. */
export function hasSignedKeyPrefix(token: string): boolean {
  return token.startsWith('orks_');
}

/**
 * Environment, id and JWS of a token with the signed key's prefix, shape and length;
 * `undefined` otherwise. Says nothing of the signature: the authenticator checks it against
 * the issuer's JWKS.
 */
export function parseSignedKey(token: string): ParsedSignedKey | undefined {
  if (token.length > SIGNED_KEY_MAX_LENGTH || !SIGNED_SHAPE.test(token)) return undefined;
  return {
    environment: token.charCodeAt(5) === LOWER_L ? 'live' : 'test',
    id: token.slice(ID_START, ID_END),
    jws: token.slice(JWS_START),
    token,
  };
}

/**
 * Where the id would be in a signed key: for finding a cache entry before any check. Says
 * nothing about whether `token` is a key.
 */
export function signedKeyIdPosition(token: string): string {
  return token.slice(ID_START, ID_END);
}

/**
 * Which kind of key `token` is, from its prefix and shape, or `undefined` when it is neither:
 * an opaque key must also pass its checksum; a signed key's signature is not checked here.
 */
export function keyKind(token: string): KeyKind | undefined {
  if (hasSignedKeyPrefix(token)) return parseSignedKey(token) === undefined ? undefined : 'signed';
  return readCheckedKey(token) === undefined ? undefined : 'opaque';
}

/** The signed key for a JWS: its prefix, then the JWS. */
export function signedKeyToken(environment: KeyEnvironment, id: string, jws: string): string {
  return `${SIGNED_KEY_PREFIX}_${environment}_${id}_${jws}`;
}
