import { describe, expect, it } from 'vitest';
import { equalInConstantTime } from '../src/constant-time.js';

describe('equalInConstantTime', () => {
  const key = 'ork_live_AbCdEfGhIjKl_0123456789abcdefghijklmnopqrstuvABCDEF';

  it('is true for equal strings only', () => {
    expect(equalInConstantTime(key, `${key}`)).toBe(true);
    expect(equalInConstantTime('', '')).toBe(true);
    for (let i = 0; i < key.length; i++) {
      const changed = key.slice(0, i) + (key[i] === 'x' ? 'y' : 'x') + key.slice(i + 1);
      expect(equalInConstantTime(changed, key)).toBe(false);
    }
  });

  it('is false for other lengths, and for characters beyond one byte', () => {
    expect(equalInConstantTime(key, key.slice(0, -1))).toBe(false);
    expect(equalInConstantTime(`${key}A`, key)).toBe(false);
    // U+0141 and U+0041 share their low byte: a byte copy in latin1 would call them equal.
    expect(equalInConstantTime(`${key.slice(0, -1)}\u0141`, `${key.slice(0, -1)}A`)).toBe(false);
  });
});
