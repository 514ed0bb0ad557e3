import { describe, expect, it } from 'vitest';
import { equalInConstantTime } from '../src/constant-time.js';

describe('equalInConstantTime', () => {
  const key = 'ork_live_AbCdEfGhIjKl_0123456789abcdefghijklmnopqrstuvABCDEF';

  const bytes = (text: string) => Buffer.from(text, 'latin1');

  it('is true for the same characters only', () => {
    expect(equalInConstantTime(key, bytes(key))).toBe(true);
    expect(equalInConstantTime('', bytes(''))).toBe(true);
    for (let i = 0; i < key.length; i++) {
      const changed = key.slice(0, i) + (key[i] === 'x' ? 'y' : 'x') + key.slice(i + 1);
      expect(equalInConstantTime(changed, bytes(key))).toBe(false);
    }
  });

  it('is false for other lengths, and for characters beyond one byte', () => {
    expect(equalInConstantTime(key, bytes(key.slice(0, -1)))).toBe(false);
    expect(equalInConstantTime(`${key}A`, bytes(key))).toBe(false);
    // U+0141 and U+0041 share their low byte: a latin1 copy of the text would call them equal.
    expect(equalInConstantTime(`${key.slice(0, -1)}\u0141`, bytes(`${key.slice(0, -1)}A`))).toBe(
      false,
    );
  });
});
