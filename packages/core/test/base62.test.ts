import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BASE62_ALPHABET, encodeBase62Fixed, randomBase62 } from '../src/base62.js';
import { ALPHABET } from './helpers.js';

// randomBytes is wrapped (still random by default) so that single tests can feed chosen bytes.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, randomBytes: vi.fn(actual.randomBytes) };
});

afterEach(() => {
  vi.mocked(randomBytes).mockClear();
});

function feedBytes(...chunks: number[][]): void {
  for (const chunk of chunks) {
    vi.mocked(randomBytes).mockImplementationOnce(((size: number) =>
      Buffer.from(chunk.slice(0, size))) as typeof randomBytes);
  }
}

describe('BASE62_ALPHABET', () => {
  it('is digits, then upper case, then lower case', () => {
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => String.fromCharCode(48 + i)),
      ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i)),
      ...Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i)),
    ].join('');
    expect(BASE62_ALPHABET).toBe(expected);
    expect(BASE62_ALPHABET).toBe(ALPHABET);
    expect(new Set(BASE62_ALPHABET).size).toBe(62);
  });
});

describe('encodeBase62Fixed', () => {
  it.each([
    [0, 6, '000000'],
    [1, 6, '000001'],
    [61, 6, '00000z'],
    [62, 6, '000010'],
    [62 * 62 - 1, 3, '0zz'],
    [3_844, 2, '00'],
    [0xffffffff, 6, '4gfFC3'],
  ])('encodes %i in %i digits as %s, most significant first', (value, width, expected) => {
    expect(encodeBase62Fixed(value, width)).toBe(expected);
  });
});

describe('randomBase62', () => {
  it('returns exactly the length asked, from the alphabet only', () => {
    for (const length of [0, 1, 12, 32, 200]) {
      const out = randomBase62(length);
      expect(out).toHaveLength(length);
      expect(out).toMatch(/^[0-9A-Za-z]*$/);
    }
  });

  it('throws away bytes of 248 and above instead of folding them (no modulo bias)', () => {
    feedBytes([248, 0, 255, 61, 62, 247, 123, 124]);
    // 248 and 255 are dropped; 0 → '0', 61 → 'z', 62 → '0', 247 (= 3 × 62 + 61) → 'z'.
    expect(randomBase62(4)).toBe('0z0z');
  });

  it('asks for more bytes when too many were rejected', () => {
    feedBytes([250, 251, 252, 253, 254, 255, 248, 249, 250, 251], [10, 36, 250, 35]);
    expect(randomBase62(2)).toBe('Aa');
    expect(vi.mocked(randomBytes)).toHaveBeenCalledTimes(2);
  });

  it('uses every character, about equally often, over a large sample', () => {
    const sample = randomBase62(62 * 4_000);
    const counts = new Map<string, number>();
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = sample.length / 62;
    for (const count of counts.values()) {
      // ±30 %: more than 9 standard deviations, so this never fails by chance.
      expect(count).toBeGreaterThan(expected * 0.7);
      expect(count).toBeLessThan(expected * 1.3);
    }
    // Modulo bias would make '0'…'7' (from bytes 248…255) 25 % more frequent than the rest.
    const first8 = [...'01234567'].reduce((sum, c) => sum + counts.get(c)!, 0) / 8;
    const rest = (sample.length - first8 * 8) / 54;
    expect(first8 / rest).toBeGreaterThan(0.93);
    expect(first8 / rest).toBeLessThan(1.07);
  });
});
