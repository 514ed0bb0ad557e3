import { inspect } from 'node:util';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_SCANNER_PATTERN,
  generateApiKey,
  isKeyEnvironment,
  KEY_ENVIRONMENTS,
  KEY_LENGTH,
  type KeyEnvironment,
  keyChecksum,
  type ParsedApiKey,
  parseApiKey,
} from '../src/index.js';
import { isKeyIdForm } from '../src/key-format.js';
import { ALPHABET, expectedChecksum, otherBase62, withChecksum } from './helpers.js';

/** The checksum's digits read back as a number, most significant first. */
function decodeBase62(digits: string): number {
  return [...digits].reduce((acc, c) => acc * 62 + ALPHABET.indexOf(c), 0);
}

const base62Char = fc.constantFrom(...ALPHABET);
const base62String = (length: number) =>
  fc.string({ unit: base62Char, minLength: length, maxLength: length });
const environment = fc.constantFrom<KeyEnvironment>('live', 'test');
/** A parsed key as a plain object, token included (it is not enumerable on the key itself). */
const parts = (parsed: ParsedApiKey | undefined) =>
  parsed && { environment: parsed.environment, id: parsed.id, token: parsed.token };

describe('key format', () => {
  it('is 60 characters: ork_<env>_<12-char id>_<32-char secret><6-char checksum>', () => {
    expect(KEY_LENGTH).toBe(60);
    for (const env of ['live', 'test'] as const) {
      const { token, id, environment: parsedEnv } = generateApiKey(env);
      expect(token).toHaveLength(60);
      expect(token.startsWith(`ork_${env}_`)).toBe(true);
      expect(token.slice(9, 21)).toBe(id);
      expect(id).toMatch(/^[0-9A-Za-z]{12}$/);
      expect(token[21]).toBe('_');
      expect(token.slice(22, 54)).toMatch(/^[0-9A-Za-z]{32}$/);
      expect(token.slice(54)).toMatch(/^[0-9A-Za-z]{6}$/);
      expect(parsedEnv).toBe(env);
    }
  });

  it('defaults to the live environment', () => {
    expect(generateApiKey().token.startsWith('ork_live_')).toBe(true);
  });

  it('refuses an unknown environment', () => {
    expect(() => generateApiKey('prod' as KeyEnvironment)).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_CONFIG' }),
    );
  });

  it('ends with the CRC-32 (zlib) of every preceding character, as 6 base62 digits', () => {
    for (let i = 0; i < 200; i++) {
      const { token } = generateApiKey(i % 2 === 0 ? 'live' : 'test');
      const body = token.slice(0, 54);
      expect(decodeBase62(token.slice(54))).toBe(crc32(body));
      expect(token.slice(54)).toBe(expectedChecksum(body));
    }
  });

  it('writes the checksum most significant digit first, zero padded', () => {
    // CRC-32 of the empty string is 0; of "123456789" the IEEE check value 0xCBF43926.
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(keyChecksum('')).toBe('000000');
    expect(decodeBase62(keyChecksum('123456789'))).toBe(0xcbf43926);
    expect(keyChecksum('123456789')).toBe(expectedChecksum('123456789'));
    const small = Array.from({ length: 5000 }, (_, i) => `k${i}`).find(
      (body) => crc32(body) < 62 ** 5,
    );
    expect(small).toBeDefined();
    expect(keyChecksum(small!)[0]).toBe('0');
  });

  it('makes a fresh id and secret each time', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.id)).size).toBe(1000);
    expect(new Set(keys.map((k) => k.token.slice(22, 54))).size).toBe(1000);
  });

  it('knows its environments', () => {
    expect(KEY_ENVIRONMENTS).toEqual(['live', 'test']);
    expect(isKeyEnvironment('live')).toBe(true);
    expect(isKeyEnvironment('test')).toBe(true);
    for (const value of ['LIVE', 'prod', '', undefined, null, 1]) {
      expect(isKeyEnvironment(value)).toBe(false);
    }
  });
});

describe('parseApiKey', () => {
  const id = 'AbCdEf012345';
  const secret = 'abcdefghijklmnopqrstuvwxyz012345';

  it('splits a well-formed key', () => {
    const token = withChecksum(`ork_test_${id}_${secret}`);
    const parsed = parseApiKey(token);
    expect(parsed).toMatchObject({ environment: 'test', id });
    expect(parsed?.token).toBe(token);
  });

  it('keeps the token out of JSON, util.inspect, toString, spreads and clones, as generateApiKey does', () => {
    const token = withChecksum(`ork_test_${id}_${secret}`);
    for (const parsed of [parseApiKey(token)!, generateApiKey('live')]) {
      const plaintext = parsed.token;
      expect(plaintext).toHaveLength(60);
      expect(JSON.parse(JSON.stringify(parsed))).toEqual({
        environment: parsed.environment,
        id: parsed.id,
        token: '[redacted]',
      });
      expect(String(parsed)).toBe(`[ParsedApiKey ${parsed.id}]`);
      for (const shown of [
        JSON.stringify(parsed),
        String(parsed),
        inspect(parsed),
        inspect({ nested: [parsed] }, { showHidden: true, depth: 5 }),
        JSON.stringify({ ...parsed }),
        JSON.stringify(structuredClone(parsed)),
      ]) {
        expect(shown).not.toContain(plaintext);
        expect(shown).not.toContain(plaintext.slice(22, 54));
      }
      expect(inspect(parsed)).toContain(parsed.id);
      expect(Object.keys(parsed)).toEqual(['environment', 'id']);
      expect(() => {
        (parsed as { token: string }).token = 'x';
      }).toThrow(TypeError);
    }
  });

  // Each of these has a correct checksum for its own body, so only the named defect refuses it.
  it.each([
    ['too short', withChecksum(`ork_live_${id}_${secret.slice(1)}`)],
    ['too long', withChecksum(`ork_live_${id}_${secret}x`)],
    ['empty', ''],
    ['wrong prefix', withChecksum(`orc_live_${id}_${secret}`)],
    ['upper-case prefix', withChecksum(`ORK_live_${id}_${secret}`)],
    ['unknown environment', withChecksum(`ork_prod_${id}_${secret}`)],
    ['upper-case environment', withChecksum(`ork_LIVE_${id}_${secret}`)],
    ['dash in the id', withChecksum(`ork_live_AbCdEf-12345_${secret}`)],
    ['underscore in the secret', withChecksum(`ork_live_${id}_abcdefghijklmno_qrstuvwxyz012345`)],
    ['non-ASCII letter', withChecksum(`ork_live_AbCdEfé12345_${secret}`)],
    ['separator moved', withChecksum(`ork_live_${id}a${secret.slice(1)}_`)],
    ['a base62 character for the separator', withChecksum(`ork_live_${id}0${secret}`)],
    ['a dash for the separator', withChecksum(`ork_live_${id}-${secret}`)],
    ['space inside', withChecksum(`ork_live_${id}_abcdefghijklmno qrstuvwxyz012345`)],
    ['leading space', ` ${withChecksum(`ork_live_${id}_${secret}`).slice(1)}`],
  ])('refuses a key with %s', (_, token) => {
    expect(parseApiKey(token)).toBeUndefined();
  });

  it('refuses a wrong checksum', () => {
    const token = withChecksum(`ork_live_${id}_${secret}`);
    const bad = token.slice(0, 59) + otherBase62(token[59]!);
    expect(parseApiKey(bad)).toBeUndefined();
  });

  it('refuses a character beyond ASCII that a byte-wide reading would take for a base62 one', () => {
    // U+0130 and U+0530 end in the byte of "0": a check that read the low byte only would take
    // them for "0", in the alphabet and in the checksum alike.
    const token = withChecksum(`ork_live_0bCdEf012345_0bcdefghijklmnopqrstuvwxyz012345`);
    expect(parseApiKey(token)).toBeDefined();
    for (const at of [9, 22]) {
      for (const wide of ['\u0130', '\u0530', '\uff30']) {
        expect(parseApiKey(token.slice(0, at) + wide + token.slice(at + 1))).toBeUndefined();
      }
    }
  });

  it('refuses a checksum that spells the right number with a character outside the alphabet', () => {
    // (d + 1) × 62 − 1 = d × 62 + 61: where a checksum has "z" after a digit d below "z", the
    // digit d + 1 and then any character read as −1 would add up to the same number.
    const ids = Array.from({ length: 20_000 }, (_, i) => `AbCdEf${String(i).padStart(6, '0')}`);
    const token = ids
      .map((id) => withChecksum(`ork_live_${id}_${secret}`))
      .find((t) => /[0-9A-Za-y]z/.test(t.slice(54)));
    expect(token).toBeDefined();
    const at = 54 + token!.slice(54).search(/[0-9A-Za-y]z/);
    const borrowed = ALPHABET[ALPHABET.indexOf(token![at]!) + 1]!;
    for (const outside of ['_', '-', '\u0100']) {
      const forged = `${token!.slice(0, at)}${borrowed}${outside}${token!.slice(at + 2)}`;
      expect(parseApiKey(forged)).toBeUndefined();
    }
    expect(parseApiKey(token!)).toBeDefined();
  });

  it('refuses a checksum above 2^32 even if its low digits agree', () => {
    const token = withChecksum(`ork_live_${id}_${secret}`);
    // The largest CRC-32 is "4gfFC3"; a leading "z" makes a number no CRC-32 can be.
    expect(parseApiKey(`${token.slice(0, 54)}z${token.slice(55)}`)).toBeUndefined();
  });
});

describe('isKeyIdForm: what may be echoed as a key id', () => {
  it('is 12 base62 characters, and nothing before or after', () => {
    expect(isKeyIdForm('AbCdEf012345')).toBe(true);
    for (const value of [
      'AbCdEf01234',
      'AbCdEf0123456',
      'AbCdEf012345_rest',
      '_AbCdEf012345',
      'AbCdEf01234-',
    ]) {
      expect(isKeyIdForm(value)).toBe(false);
    }
  });

  it('is a string: a value that only reads like one when turned into text is not', () => {
    for (const value of [['AbCdEf012345'], 123456789012, { toString: () => 'AbCdEf012345' }]) {
      expect(isKeyIdForm(value)).toBe(false);
    }
  });
});

describe('API_KEY_SCANNER_PATTERN', () => {
  it('is the documented pattern', () => {
    expect(API_KEY_SCANNER_PATTERN.source).toBe('ork_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}');
  });

  it('finds keys inside larger text', () => {
    const a = generateApiKey('live').token;
    const b = generateApiKey('test').token;
    const text = `config:\n  key="${a}"\n  other=${b};\nnot a key: ork_prod_${a.slice(9)}`;
    expect(text.match(new RegExp(API_KEY_SCANNER_PATTERN, 'g'))).toEqual([a, b]);
  });

  it('keeps no state between calls: .test() answers the same twice', () => {
    const token = generateApiKey('live').token;
    expect([API_KEY_SCANNER_PATTERN.test(token), API_KEY_SCANNER_PATTERN.test(token)]).toEqual([
      true,
      true,
    ]);
  });
});

describe('key format properties', () => {
  it('every generated key parses to its own id and environment and matches the scanner', () => {
    fc.assert(
      fc.property(environment, (env) => {
        const generated = generateApiKey(env);
        const parsed = parseApiKey(generated.token);
        expect(parts(parsed)).toEqual({
          environment: env,
          id: generated.id,
          token: generated.token,
        });
        expect(generated.token.match(API_KEY_SCANNER_PATTERN)?.[0]).toBe(generated.token);
      }),
      { numRuns: 2000 },
    );
  });

  it('any id and secret from the alphabet with the right checksum parses', () => {
    fc.assert(
      fc.property(environment, base62String(12), base62String(32), (env, id, secret) => {
        const token = withChecksum(`ork_${env}_${id}_${secret}`);
        expect(parts(parseApiKey(token))).toEqual({ environment: env, id, token });
        expect(keyChecksum(token.slice(0, 54))).toBe(token.slice(54));
      }),
      { numRuns: 2000 },
    );
  });

  it('substituting another base62 character in the id, secret or checksum breaks the key', () => {
    const positions = [
      ...Array.from({ length: 12 }, (_, i) => 9 + i),
      ...Array.from({ length: 38 }, (_, i) => 22 + i),
    ];
    fc.assert(
      fc.property(environment, fc.constantFrom(...positions), base62Char, (env, at, c) => {
        const { token } = generateApiKey(env);
        fc.pre(token[at] !== c);
        const changed = token.slice(0, at) + c + token.slice(at + 1);
        expect(parseApiKey(changed)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it('any change of any one character anywhere breaks the key', () => {
    fc.assert(
      fc.property(
        environment,
        fc.integer({ min: 0, max: 59 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        (env, at, c) => {
          const { token } = generateApiKey(env);
          fc.pre(token[at] !== c);
          const changed = token.slice(0, at) + c + token.slice(at + 1);
          expect(parseApiKey(changed)).toBeUndefined();
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('deleting or inserting a character anywhere breaks the key', () => {
    fc.assert(
      fc.property(
        environment,
        fc.integer({ min: 0, max: 60 }),
        base62Char,
        fc.boolean(),
        (env, at, c, insert) => {
          const { token } = generateApiKey(env);
          const changed = insert
            ? token.slice(0, at) + c + token.slice(at)
            : token.slice(0, Math.min(at, 59)) + token.slice(Math.min(at, 59) + 1);
          expect(parseApiKey(changed)).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });
});
