import { describe, expect, it } from 'vitest';
import { optionsObject, rejectUnknownOptions } from '../src/adapter.js';
import { ConfigurationError } from '../src/index.js';
import { closestName } from '../src/options.js';

const KNOWN = ['workspace', 'onFailure', 'requireHttps', 'cache', 'ttlMs', 'maxAgeSeconds'];

describe('closestName', () => {
  it.each([
    ['workspce', 'workspace'], // a letter left out
    ['onFailur', 'onFailure'],
    ['requireHTTPS', 'requireHttps'], // case alone
    ['wrokspace', 'workspace'], // two letters swapped
    ['ttl', 'ttlMs'], // the start of a name
    ['maxAge', 'maxAgeSeconds'],
  ])('%s → %s', (typed, meant) => {
    expect(closestName(typed, KNOWN)).toBe(meant);
  });

  it.each(['signedKeys', 'x', 'ca', 'store'])('%s is close to none', (typed) => {
    expect(closestName(typed, KNOWN)).toBeUndefined();
  });
});

describe('rejectUnknownOptions', () => {
  it('passes an object of known keys, and an empty one', () => {
    expect(() => rejectUnknownOptions({ workspace: 1, cache: undefined }, KNOWN)).not.toThrow();
    expect(() => rejectUnknownOptions({}, KNOWN)).not.toThrow();
  });

  it('names the unknown key and the closest known one, with the path of a nested object', () => {
    expect(() => rejectUnknownOptions({ ttl: 5 }, KNOWN, 'cache')).toThrow(
      expect.objectContaining({
        code: 'ERR_ORKESTA_AUTH_CONFIG',
        option: 'cache.ttl',
        suggestion: 'cache.ttlMs',
      }),
    );
  });

  it('with no known key close, it lists them all and suggests none', () => {
    let thrown: unknown;
    try {
      rejectUnknownOptions({ signedKeys: {} }, KNOWN);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ option: 'signedKeys', suggestion: undefined });
  });
});

describe('optionsObject', () => {
  it('an absent object is {}; another value than an object is a ConfigurationError', () => {
    expect(optionsObject(undefined, KNOWN, 'cache', '{ ttlMs? }')).toEqual({});
    for (const value of [null, 5, 'x', [1]]) {
      expect(() => optionsObject(value as never, KNOWN, 'cache', '{ ttlMs? }')).toThrow(
        ConfigurationError,
      );
    }
    expect(() => optionsObject(5 as never, KNOWN, undefined, '{ ttlMs? }')).toThrow(
      ConfigurationError,
    );
  });

  it('returns the object itself once its keys are known, and refuses an unknown one', () => {
    const options = { ttlMs: 5 };
    expect(optionsObject(options, KNOWN, 'cache', '{ ttlMs? }')).toBe(options);
    expect(() => optionsObject({ tlMs: 5 }, KNOWN, 'cache', '{ ttlMs? }')).toThrow(
      expect.objectContaining({ option: 'cache.tlMs', suggestion: 'cache.ttlMs' }),
    );
  });
});
