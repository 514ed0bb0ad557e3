import { createHmac, hash as digest, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from './errors.js';
import { rejectUnknownOptions } from './options.js';
import type { KeyKind } from './signed-key.js';

/**
 * A server-side secret mixed into stored hashes (HMAC-SHA-256), so that a leaked key table
 * alone cannot be used to check guesses. `id` names it inside each stored hash, which lets
 * peppers be rotated: keep the old one in `previousPeppers` until its keys are gone.
 */
export interface Pepper {
  readonly id: string;
  readonly secret: string | Uint8Array;
}

export interface HashingOptions {
  /** Hash new keys with HMAC-SHA-256 under this pepper. Without one, plain SHA-256 is used. */
  readonly pepper?: Pepper;
  /** Peppers that still verify keys hashed under them, but hash nothing new. */
  readonly previousPeppers?: readonly Pepper[];
}

/**
 * Stored hashes carry their scheme, so the scheme can change without invalidating keys:
 *
 *     sha256$<base64url digest>                    an opaque key
 *     hmac-sha256$<pepper id>$<base64url digest>   an opaque key, peppered
 *     jws-sha256$<base64url digest>                a signed key: SHA-256 of the whole token
 *
 * A signed key's hash is never peppered: the token's secret part is a signature nobody can
 * compute without the issuer's private key, so a pepper would add nothing, and services that
 * verify signed keys need no secret at all. The scheme also tells which kind a record is.
 */
export type StoredHash = string;

/** A stored hash, decoded once so the hot path compares raw bytes. */
export interface DecodedHash {
  readonly scheme: 'sha256' | 'hmac-sha256' | 'jws-sha256';
  readonly pepperId: string | undefined;
  readonly digest: Buffer;
}

const PEPPER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const SIGNED_SCHEME = 'jws-sha256';
const DIGEST_BYTES = 32;

export class KeyHasher {
  readonly #current: Pepper | undefined;
  readonly #peppers: ReadonlyMap<string, Buffer>;

  constructor(options: HashingOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('hashing must be an object: { pepper?, previousPeppers? }');
    }
    rejectUnknownOptions(options, ['pepper', 'previousPeppers'], 'hashing');
    if (options.previousPeppers !== undefined && !Array.isArray(options.previousPeppers)) {
      throw new ConfigurationError('hashing.previousPeppers must be a list of peppers');
    }
    const peppers = new Map<string, Buffer>();
    const all: [Pepper, string][] = [
      ...(options.pepper ? [[options.pepper, 'hashing.pepper'] as [Pepper, string]] : []),
      ...(options.previousPeppers ?? []).map(
        (pepper, i) => [pepper, `hashing.previousPeppers[${i}]`] as [Pepper, string],
      ),
    ];
    for (const [pepper, path] of all) {
      if (pepper !== null && typeof pepper === 'object') {
        rejectUnknownOptions(pepper, ['id', 'secret'], path);
      }
      if (pepper === null || typeof pepper !== 'object' || !PEPPER_ID.test(String(pepper.id))) {
        throw new ConfigurationError(
          'every pepper needs an id of 1 to 64 characters from [A-Za-z0-9._-]',
        );
      }
      const secret =
        typeof pepper.secret === 'string'
          ? Buffer.from(pepper.secret, 'utf8')
          : pepper.secret instanceof Uint8Array
            ? Buffer.from(pepper.secret)
            : undefined;
      if (secret === undefined || secret.length < 16) {
        throw new ConfigurationError(`pepper "${pepper.id}" needs a secret of at least 16 bytes`);
      }
      if (peppers.has(pepper.id)) {
        throw new ConfigurationError(`pepper id "${pepper.id}" is used twice`);
      }
      peppers.set(pepper.id, secret);
    }
    this.#current = options.pepper;
    this.#peppers = peppers;
  }

  /** The stored form of a new key's plaintext, under the current scheme. */
  hash(token: string): StoredHash {
    const pepper = this.#current;
    if (pepper === undefined) return `sha256$${sha256(token).toString('base64url')}`;
    const mac = hmac(this.#peppers.get(pepper.id)!, token);
    return `hmac-sha256$${pepper.id}$${mac.toString('base64url')}`;
  }

  /** The stored form of a signed key (see `StoredHash`): the same whatever the pepper. */
  hashSignedKey(token: string): StoredHash {
    return `${SIGNED_SCHEME}$${sha256(token).toString('base64url')}`;
  }

  /** Decodes a stored hash; `undefined` when it is not in a known form. */
  decode(stored: unknown): DecodedHash | undefined {
    if (typeof stored !== 'string') return undefined;
    const parts = stored.split('$');
    let decoded: DecodedHash | undefined;
    if (parts.length === 2 && (parts[0] === 'sha256' || parts[0] === SIGNED_SCHEME)) {
      decoded = {
        scheme: parts[0],
        pepperId: undefined,
        digest: Buffer.from(parts[1]!, 'base64url'),
      };
    } else if (parts.length === 3 && parts[0] === 'hmac-sha256') {
      decoded = {
        scheme: 'hmac-sha256',
        pepperId: parts[1]!,
        digest: Buffer.from(parts[2]!, 'base64url'),
      };
    }
    return decoded?.digest.length === DIGEST_BYTES ? decoded : undefined;
  }

  /** Whether this hasher holds what `hash` needs (the pepper it names, if any). */
  canVerify(hash: DecodedHash): boolean {
    return hash.pepperId === undefined || this.#peppers.has(hash.pepperId);
  }

  /**
   * Whether `token` matches `hash`, compared in constant time. The caller checks `canVerify`
   * first; a hash naming an unknown pepper never matches.
   */
  verify(token: string, hash: DecodedHash): boolean {
    let presented: Buffer;
    if (hash.pepperId === undefined) {
      presented = sha256(token);
    } else {
      const secret = this.#peppers.get(hash.pepperId);
      if (secret === undefined) return false;
      presented = hmac(secret, token);
    }
    return timingSafeEqual(presented, hash.digest);
  }
}

/** The kind of key a stored hash belongs to, from its scheme. */
export function storedKeyKind(hash: StoredHash): KeyKind {
  return hash.startsWith(`${SIGNED_SCHEME}$`) ? 'signed' : 'opaque';
}

function sha256(token: string): Buffer {
  return digest('sha256', token, 'buffer');
}

function hmac(secret: Buffer, token: string): Buffer {
  return createHmac('sha256', secret).update(token).digest();
}
