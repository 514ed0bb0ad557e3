import { randomBytes } from 'node:crypto';

/** The base62 alphabet of the key format: digits, then upper case, then lower case. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// 248 = 4 × 62: bytes at or above it are thrown away so that `byte % 62` is uniform.
const UNBIASED_LIMIT = 248;

/** `length` base62 characters from the CSPRNG, without modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Ask for a little more than needed: on average 3 % of bytes are rejected.
    const bytes = randomBytes(length - out.length + 8);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i]!;
      if (byte < UNBIASED_LIMIT) out += BASE62_ALPHABET[byte % 62];
    }
  }
  return out;
}

/** `value` (a non-negative safe integer) as exactly `width` base62 digits, most significant first. */
export function encodeBase62Fixed(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}
