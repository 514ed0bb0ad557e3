import { crc32 } from 'node:zlib';
import { BASE62_ALPHABET, encodeBase62Fixed, randomBase62 } from './base62.js';

/** The environments a key can belong to. */
export const KEY_ENVIRONMENTS = ['live', 'test'] as const;
export type KeyEnvironment = (typeof KEY_ENVIRONMENTS)[number];

export const KEY_PREFIX = 'ork';
export const KEY_ID_LENGTH = 12;
export const KEY_SECRET_LENGTH = 32;
export const KEY_CHECKSUM_LENGTH = 6;
/** `ork_live_` + id + `_` + secret + checksum. */
export const KEY_LENGTH = 4 + 5 + KEY_ID_LENGTH + 1 + KEY_SECRET_LENGTH + KEY_CHECKSUM_LENGTH;

/**
 * What secret scanners match: `ork_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}`. Unanchored,
 * so it finds keys inside larger text; not global, so `.test()` keeps no state between calls
 * (`new RegExp(API_KEY_SCANNER_PATTERN, 'g')` to find them all).
 */
export const API_KEY_SCANNER_PATTERN = /ork_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}/;

// Character code → base62 digit value, or -1. Parsing runs on every request: a table lookup
// per character beats a regular expression with captures.
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) DIGIT_VALUE[BASE62_ALPHABET.charCodeAt(i)] = i;

const ID_START = 9; // after `ork_live_`
const ID_END = ID_START + KEY_ID_LENGTH;
const CHECKSUM_START = KEY_LENGTH - KEY_CHECKSUM_LENGTH;
const UNDERSCORE = 0x5f;

/** An API key split into its parts. `token` is the whole plaintext: never log it. */
export interface ParsedApiKey {
  readonly environment: KeyEnvironment;
  readonly id: string;
  readonly token: string;
}

export function isKeyEnvironment(value: unknown): value is KeyEnvironment {
  return value === 'live' || value === 'test';
}

/** The 6-character base62 CRC-32 of `body` (every character before the checksum). */
export function keyChecksum(body: string): string {
  return encodeBase62Fixed(crc32(body), KEY_CHECKSUM_LENGTH);
}

/** A new key in the public format. The secret comes from the CSPRNG (~190 bits). */
export function generateApiKey(environment: KeyEnvironment = 'live'): ParsedApiKey {
  if (!isKeyEnvironment(environment)) {
    throw new TypeError(`key environment must be "live" or "test", got ${String(environment)}`);
  }
  const id = randomBase62(KEY_ID_LENGTH);
  const body = `${KEY_PREFIX}_${environment}_${id}_${randomBase62(KEY_SECRET_LENGTH)}`;
  return { environment, id, token: body + keyChecksum(body) };
}

/**
 * Splits a presented token when its prefix, length, alphabet and checksum are all right;
 * `undefined` otherwise. Nothing here touches a store, so a mistyped key costs no lookup.
 */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  if (token.length !== KEY_LENGTH || !token.startsWith('ork_')) return undefined;
  const environment = token.startsWith('live_', 4)
    ? 'live'
    : token.startsWith('test_', 4)
      ? 'test'
      : undefined;
  if (environment === undefined || token.charCodeAt(ID_END) !== UNDERSCORE) return undefined;
  for (let i = ID_START; i < CHECKSUM_START; i++) {
    if (i !== ID_END && !isBase62(token.charCodeAt(i))) return undefined;
  }
  // The checksum, read as a number, must equal the CRC-32 of everything before it.
  let checksum = 0;
  for (let i = CHECKSUM_START; i < KEY_LENGTH; i++) {
    const code = token.charCodeAt(i);
    if (!isBase62(code)) return undefined;
    checksum = checksum * 62 + DIGIT_VALUE[code]!;
  }
  if (checksum !== crc32(token.slice(0, CHECKSUM_START))) return undefined;
  return { environment, id: token.slice(ID_START, ID_END), token };
}

function isBase62(code: number): boolean {
  return code < 128 && DIGIT_VALUE[code]! >= 0;
}
