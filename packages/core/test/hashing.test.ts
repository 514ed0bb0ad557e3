import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  generateApiKey,
  type HashingOptions,
  type Pepper,
} from '../src/index.js';
import { type DecodedHash, KeyHasher } from '../src/store.js';

const token = generateApiKey().token;
const other = generateApiKey().token;
const pepperA: Pepper = { id: 'pepper-2025', secret: 'a-server-secret-of-32-characters' };
const pepperB: Pepper = { id: 'pepper.2026_b', secret: new Uint8Array(32).fill(7) };

function decodeOrFail(hasher: KeyHasher, stored: string): DecodedHash {
  const decoded = hasher.decode(stored);
  expect(decoded).toBeDefined();
  return decoded!;
}

describe('KeyHasher without a pepper', () => {
  const hasher = new KeyHasher();

  it('stores sha256$<base64url of the SHA-256 digest>', () => {
    const stored = hasher.hash(token);
    expect(stored).toBe(`sha256$${createHash('sha256').update(token).digest('base64url')}`);
    expect(stored).toMatch(/^sha256\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(token);
  });

  it('decodes its own hashes', () => {
    const decoded = decodeOrFail(hasher, hasher.hash(token));
    expect(decoded.scheme).toBe('sha256');
    expect(decoded.pepperId).toBeUndefined();
    expect(decoded.digest).toEqual(createHash('sha256').update(token).digest());
    expect(hasher.canVerify(decoded)).toBe(true);
  });

  it('verifies the right key and refuses any other', () => {
    const decoded = decodeOrFail(hasher, hasher.hash(token));
    expect(hasher.verify(token, decoded)).toBe(true);
    expect(hasher.verify(other, decoded)).toBe(false);
    expect(hasher.verify(token.slice(0, -1), decoded)).toBe(false);
    expect(hasher.verify('', decoded)).toBe(false);
  });

  it('cannot verify a peppered hash it has no pepper for', () => {
    const stored = new KeyHasher({ pepper: pepperA }).hash(token);
    const decoded = decodeOrFail(hasher, stored);
    expect(hasher.canVerify(decoded)).toBe(false);
    expect(hasher.verify(token, decoded)).toBe(false);
  });
});

describe('KeyHasher with a pepper', () => {
  const hasher = new KeyHasher({ pepper: pepperA });

  it('stores hmac-sha256$<pepper id>$<base64url of the HMAC-SHA-256>', () => {
    const expected = createHmac('sha256', Buffer.from(pepperA.secret as string, 'utf8'))
      .update(token)
      .digest('base64url');
    expect(hasher.hash(token)).toBe(`hmac-sha256$pepper-2025$${expected}`);
  });

  it('accepts a Uint8Array secret', () => {
    const withBytes = new KeyHasher({ pepper: pepperB });
    const expected = createHmac('sha256', Buffer.from(pepperB.secret as Uint8Array))
      .update(token)
      .digest('base64url');
    expect(withBytes.hash(token)).toBe(`hmac-sha256$pepper.2026_b$${expected}`);
  });

  it('verifies the right key and refuses any other', () => {
    const decoded = decodeOrFail(hasher, hasher.hash(token));
    expect(decoded).toMatchObject({ scheme: 'hmac-sha256', pepperId: 'pepper-2025' });
    expect(hasher.canVerify(decoded)).toBe(true);
    expect(hasher.verify(token, decoded)).toBe(true);
    expect(hasher.verify(other, decoded)).toBe(false);
  });

  it('differs from plain SHA-256 and from another pepper', () => {
    const plain = new KeyHasher().hash(token);
    const underB = new KeyHasher({ pepper: pepperB }).hash(token);
    const digest = (s: string) => s.split('$').at(-1);
    expect(digest(hasher.hash(token))).not.toBe(digest(plain));
    expect(digest(hasher.hash(token))).not.toBe(digest(underB));
  });

  it('still verifies plain SHA-256 hashes of keys issued before the pepper', () => {
    const decoded = decodeOrFail(hasher, new KeyHasher().hash(token));
    expect(hasher.canVerify(decoded)).toBe(true);
    expect(hasher.verify(token, decoded)).toBe(true);
  });

  it('keeps verifying hashes of a previous pepper, and hashes new keys under the current one', () => {
    const oldHash = hasher.hash(token);
    const rotated = new KeyHasher({ pepper: pepperB, previousPeppers: [pepperA] });
    const decoded = decodeOrFail(rotated, oldHash);
    expect(rotated.canVerify(decoded)).toBe(true);
    expect(rotated.verify(token, decoded)).toBe(true);
    expect(rotated.verify(other, decoded)).toBe(false);
    expect(rotated.hash(token).startsWith('hmac-sha256$pepper.2026_b$')).toBe(true);
  });

  it('cannot verify a hash naming a pepper it does not hold', () => {
    const decoded = decodeOrFail(hasher, new KeyHasher({ pepper: pepperB }).hash(token));
    expect(hasher.canVerify(decoded)).toBe(false);
    expect(hasher.verify(token, decoded)).toBe(false);
  });

  it('does not verify a hash whose pepper id was swapped for another held pepper', () => {
    const both = new KeyHasher({ pepper: pepperA, previousPeppers: [pepperB] });
    const swapped = both.hash(token).replace('pepper-2025', 'pepper.2026_b');
    const decoded = decodeOrFail(both, swapped);
    expect(both.canVerify(decoded)).toBe(true);
    expect(both.verify(token, decoded)).toBe(false);
  });
});

describe('KeyHasher configuration', () => {
  it.each<[string, unknown]>([
    ['a short string secret', { pepper: { id: 'p', secret: 'fifteen-bytes!!' } }],
    ['a short byte secret', { pepper: { id: 'p', secret: new Uint8Array(15) } }],
    ['a secret that is not a string or bytes', { pepper: { id: 'p', secret: 1234567890123456 } }],
    ['a missing secret', { pepper: { id: 'p' } }],
    ['an empty id', { pepper: { id: '', secret: 'x'.repeat(16) } }],
    ['an id with a dollar sign', { pepper: { id: 'a$b', secret: 'x'.repeat(16) } }],
    ['an id with a space', { pepper: { id: 'a b', secret: 'x'.repeat(16) } }],
    ['an id of 65 characters', { pepper: { id: 'a'.repeat(65), secret: 'x'.repeat(16) } }],
    ['a pepper that is not an object', { pepper: 'secret-secret-secret' }],
    ['a null previous pepper', { previousPeppers: [null] }],
    [
      'the same id twice',
      {
        pepper: { id: 'p1', secret: 'x'.repeat(16) },
        previousPeppers: [{ id: 'p1', secret: 'y'.repeat(16) }],
      },
    ],
    [
      'the same previous id twice',
      {
        previousPeppers: [
          { id: 'p1', secret: 'x'.repeat(16) },
          { id: 'p1', secret: 'x'.repeat(16) },
        ],
      },
    ],
    ['a bad previous pepper', { previousPeppers: [{ id: 'ok', secret: 'short' }] }],
    [
      'previous peppers that are not a list',
      { previousPeppers: { id: 'p', secret: 'x'.repeat(16) } },
    ],
    ['null options', null],
    ['string options', 'pepper'],
    ['number options', 42],
  ])('refuses %s with a ConfigurationError', (_, options) => {
    expect(() => new KeyHasher(options as HashingOptions)).toThrow(ConfigurationError);
  });

  it.each<[string, HashingOptions, string]>([
    [
      'the pepper',
      { pepper: { id: 'p', secret: 'x'.repeat(16), scret: 1 } as never },
      'hashing.pepper.scret',
    ],
    [
      'a previous pepper',
      { previousPeppers: [{ id: 'p', secret: 'x'.repeat(16), ids: 1 } as never] },
      'hashing.previousPeppers[0].ids',
    ],
    ['the options', { peppr: {} } as never, 'hashing.peppr'],
  ])('refuses a field %s does not have, naming it with its path', (_, options, option) => {
    let thrown: unknown;
    try {
      new KeyHasher(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).option).toBe(option);
  });

  it('refuses a pepper that is not a plain object as such: a string, or a function with an id', () => {
    for (const pepper of [
      'secret-secret-secret',
      Object.assign(() => {}, { id: 'p', secret: 'x'.repeat(16) }),
    ]) {
      let thrown: unknown;
      try {
        new KeyHasher({ pepper: pepper as never });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      // Refused for what it is, not for the indexes of a string read as unknown fields.
      expect((thrown as ConfigurationError).option).toBeUndefined();
    }
  });

  it('accepts the limits: a 16-byte secret (counted in UTF-8 bytes) and a 64-character id', () => {
    expect(
      () => new KeyHasher({ pepper: { id: 'a'.repeat(64), secret: 'x'.repeat(16) } }),
    ).not.toThrow();
    // 8 characters of 2 UTF-8 bytes each: 16 bytes.
    expect(() => new KeyHasher({ pepper: { id: 'p', secret: 'é'.repeat(8) } })).not.toThrow();
    expect(() => new KeyHasher({ pepper: { id: 'p', secret: 'é'.repeat(7) } })).toThrow(
      ConfigurationError,
    );
  });

  it('carries the configuration error code', () => {
    try {
      new KeyHasher({ pepper: { id: 'p', secret: 'short' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('ERR_ORKESTA_AUTH_CONFIG');
      expect((error as ConfigurationError).name).toBe('ConfigurationError');
      expect(String(error)).not.toContain('short');
    }
  });
});

describe('KeyHasher.decode', () => {
  const hasher = new KeyHasher({ pepper: pepperA });
  const digest = Buffer.alloc(32, 1).toString('base64url');

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { scheme: 'sha256' }],
    ['the empty string', ''],
    ['no scheme', digest],
    ['an unknown scheme', `md5$${digest}`],
    ['an upper-case scheme', `SHA256$${digest}`],
    ['a short digest', `sha256$${Buffer.alloc(31).toString('base64url')}`],
    ['a long digest', `sha256$${Buffer.alloc(33).toString('base64url')}`],
    ['an empty digest', 'sha256$'],
    ['sha256 with a pepper id', `sha256$pepper-2025$${digest}`],
    // The digest in its place, then more: only a two-part form is a plain hash.
    ['sha256 with a third part', `sha256$${digest}$junk`],
    ['jws-sha256 with a third part', `jws-sha256$${digest}$junk`],
    ['hmac-sha256 without a pepper id', `hmac-sha256$${digest}`],
    ['hmac-sha256 with an extra part', `hmac-sha256$p$${digest}$x`],
    ['a plaintext key', generateApiKey().token],
    ['garbage', '$$$$'],
  ])('refuses %s', (_, stored) => {
    expect(hasher.decode(stored)).toBeUndefined();
  });
});
