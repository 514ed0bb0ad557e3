import { inspect } from 'node:util';
import { crc32 } from 'node:zlib';
import { BASE62_ALPHABET, encodeBase62Fixed, randomBase62 } from './base62.js';
import { ConfigurationError } from './errors.js';

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

// The shape without captures: `test` allocates nothing, and irregexp is faster here than a
// character loop.
const KEY_SHAPE = /^ork_(?:live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/;

// Character code → base62 digit value, for reading the checksum as a number.
const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) DIGIT_VALUE[BASE62_ALPHABET.charCodeAt(i)] = i;

const ID_START = 9; // after `ork_live_`
const ID_END = ID_START + KEY_ID_LENGTH;
const CHECKSUM_START = KEY_LENGTH - KEY_CHECKSUM_LENGTH;
const LOWER_L = 0x6c;

/** Where a token of the right shape says it belongs. The checksum is not checked. */
export interface KeyShape {
  readonly environment: KeyEnvironment;
  readonly id: string;
}

/**
 * A key as `parseApiKey` and `generateApiKey` return it: environment, id, and the whole token.
 * Logging or serialising it shows a redacted token; read `token` explicitly.
 */
export interface ParsedApiKey extends KeyShape {
  /** The whole plaintext: never log it. Not enumerable, so spreads and clones leave it out. */
  readonly token: string;
}

/** What JSON, `util.inspect` and `toString` show in place of a key's plaintext. */
export const REDACTED = '[redacted]';

/**
 * Sets `target[name]` to `secret`, read-only and not enumerable: spreading, cloning,
 * `JSON.stringify` or `util.inspect` of the object leave it behind.
 */
export function defineSecret(target: object, name: string, secret: string): void {
  Object.defineProperty(target, name, { value: secret, enumerable: false });
}

class ApiKeyParts implements ParsedApiKey {
  declare readonly token: string;
  readonly environment: KeyEnvironment;
  readonly id: string;

  constructor(environment: KeyEnvironment, id: string, token: string) {
    this.environment = environment;
    this.id = id;
    defineSecret(this, 'token', token);
  }

  toJSON(): { environment: KeyEnvironment; id: string; token: typeof REDACTED } {
    return { environment: this.environment, id: this.id, token: REDACTED };
  }

  [inspect.custom](): string {
    return `ParsedApiKey { environment: '${this.environment}', id: '${this.id}', token: ${REDACTED} }`;
  }

  toString(): string {
    return `[ParsedApiKey ${this.id}]`;
  }
}

export function isKeyEnvironment(value: unknown): value is KeyEnvironment {
  return value === 'live' || value === 'test';
}

const KEY_ID = /^[0-9A-Za-z]{12}$/;

/** Whether `value` has the form of a key id (12 base62 characters): safe to echo in a message. */
export function isKeyIdForm(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID.test(value);
}

/** The 6-character base62 CRC-32 of `body` (every character before the checksum). */
export function keyChecksum(body: string): string {
  return encodeBase62Fixed(crc32(body), KEY_CHECKSUM_LENGTH);
}

/** A new key id: 12 base62 characters from the CSPRNG (~71 bits), for keys of either kind. */
export function generateKeyId(): string {
  return randomBase62(KEY_ID_LENGTH);
}

/** A new key in the public format. The secret comes from the CSPRNG (~190 bits). */
export function generateApiKey(environment: KeyEnvironment = 'live'): ParsedApiKey {
  if (!isKeyEnvironment(environment)) {
    throw new ConfigurationError(
      `key environment must be "live" or "test"; got ${String(environment)}`,
    );
  }
  const id = generateKeyId();
  const body = `${KEY_PREFIX}_${environment}_${id}_${randomBase62(KEY_SECRET_LENGTH)}`;
  return new ApiKeyParts(environment, id, body + keyChecksum(body));
}

/**
 * Environment and id of a token with the key's prefix, length and alphabet; `undefined`
 * otherwise. The checksum is left to `hasValidChecksum`.
 */
export function readKeyShape(token: string): KeyShape | undefined {
  if (token.length !== KEY_LENGTH || !KEY_SHAPE.test(token)) return undefined;
  return {
    environment: token.charCodeAt(4) === LOWER_L ? 'live' : 'test',
    id: token.slice(ID_START, ID_END),
  };
}

/**
 * Where the id would be in a token of the key's length: for finding a cache entry before any
 * check. Says nothing about whether `token` is a key.
 */
export function keyIdPosition(token: string): string {
  return token.slice(ID_START, ID_END);
}

/** Whether a token of the key's shape ends in the CRC-32 of what comes before. */
export function hasValidChecksum(token: string): boolean {
  let checksum = 0;
  for (let i = CHECKSUM_START; i < KEY_LENGTH; i++) {
    checksum = checksum * 62 + DIGIT_VALUE[token.charCodeAt(i)]!;
  }
  return checksum === crc32(token.slice(0, CHECKSUM_START));
}

/**
 * Splits a presented token when its prefix, length, alphabet and checksum are all right;
 * `undefined` otherwise. Nothing here touches a store, so a mistyped key costs no lookup.
 */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  const shape = readKeyShape(token);
  if (shape === undefined || !hasValidChecksum(token)) return undefined;
  return new ApiKeyParts(shape.environment, shape.id, token);
}
