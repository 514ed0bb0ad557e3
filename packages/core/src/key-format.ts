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

// UTF-16 code unit → base62 digit value, -1 for every other one: one entry per code unit (64 KiB),
// so that any character of a token reads a value and none needs a range check first.
const DIGIT_VALUE = new Int8Array(0x10000).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) DIGIT_VALUE[BASE62_ALPHABET.charCodeAt(i)] = i;

const LIVE_PREFIX = `${KEY_PREFIX}_live_`;
const TEST_PREFIX = `${KEY_PREFIX}_test_`;
const ID_START = LIVE_PREFIX.length;
const ID_END = ID_START + KEY_ID_LENGTH;
const CHECKSUM_START = KEY_LENGTH - KEY_CHECKSUM_LENGTH;
const UNDERSCORE = 0x5f;
// Called as `charCodeAt.call(token, i)`, through a constant of this module: see constant-time.ts
// for why (a process that has loaded ioredis would otherwise run this loop at a sixth the speed).
const charCodeAt = String.prototype.charCodeAt;

// The CRC-32 (IEEE 802.3, zlib's) of a key body, computed in the same pass that checks its
// alphabet: the format step guards the store against floods of made-up keys, so it must cost
// less than admitting a cached key. Against a key-shape regex and then zlib's crc32 of a slice,
// this one pass took the step from 480 to 150 ns per 60-character key (bench/, "format step"),
// and a refused bad checksum from 1,190 to 950 ns. `keyChecksum` keeps zlib's crc32 for making
// keys; the tests hold the two equal.
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

/** The CRC-32 register after `text`, from `register` (-1 to start; invert it to finish). */
function crcUpdate(register: number, text: string): number {
  let crc = register;
  for (let i = 0; i < text.length; i++) {
    crc = CRC_TABLE[(crc ^ charCodeAt.call(text, i)) & 0xff]! ^ (crc >>> 8);
  }
  return crc;
}

// The register after each prefix, so that a key's pass starts at its id.
const CRC_AFTER_LIVE = crcUpdate(-1, LIVE_PREFIX);
const CRC_AFTER_TEST = crcUpdate(-1, TEST_PREFIX);

/** Where a key says it belongs: its environment and id. */
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
 * The format step of an opaque key, in one pass: environment and id of a token with the key's
 * prefix, length and alphabet whose last six characters are the checksum of the rest;
 * `undefined` otherwise. Nothing here touches a store, so a mistyped key costs no lookup.
 */
export function readCheckedKey(token: string): KeyShape | undefined {
  if (token.length !== KEY_LENGTH) return undefined;
  let environment: KeyEnvironment;
  let crc: number;
  if (token.startsWith(LIVE_PREFIX)) {
    environment = 'live';
    crc = CRC_AFTER_LIVE;
  } else if (token.startsWith(TEST_PREFIX)) {
    environment = 'test';
    crc = CRC_AFTER_TEST;
  } else return undefined;
  for (let i = ID_START; i < CHECKSUM_START; i++) {
    const code = charCodeAt.call(token, i);
    if (i === ID_END ? code !== UNDERSCORE : DIGIT_VALUE[code]! < 0) return undefined;
    crc = CRC_TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
  }
  let checksum = 0;
  for (let i = CHECKSUM_START; i < KEY_LENGTH; i++) {
    const digit = DIGIT_VALUE[charCodeAt.call(token, i)]!;
    if (digit < 0) return undefined;
    checksum = checksum * 62 + digit;
  }
  if (checksum !== (crc ^ -1) >>> 0) return undefined;
  return { environment, id: token.slice(ID_START, ID_END) };
}

/**
 * Where the id would be in a token of the key's length: for finding a cache entry before any
 * check. Says nothing about whether `token` is a key.
 */
export function keyIdPosition(token: string): string {
  return token.slice(ID_START, ID_END);
}

/**
 * Splits a presented token when its prefix, length, alphabet and checksum are all right;
 * `undefined` otherwise. Nothing here touches a store, so a mistyped key costs no lookup.
 */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  const shape = readCheckedKey(token);
  return shape === undefined ? undefined : new ApiKeyParts(shape.environment, shape.id, token);
}
