import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationInput,
  authorizationFromRawHeaders,
  DEFAULT_MAX_HEADER_LENGTH,
  extractBearerToken,
} from '../src/adapter.js';
import {
  AuthError,
  generateApiKey,
  MalformedAuthorizationHeaderError,
  MissingApiKeyError,
} from '../src/index.js';

const key = generateApiKey().token;

function codeOf(input: AuthorizationInput, maxLength?: number): string {
  const result = extractBearerToken(input, maxLength);
  return typeof result === 'string' ? `token:${result}` : result.code;
}

describe('extractBearerToken', () => {
  it.each([
    ['Bearer x', 'x'],
    ['bearer x', 'x'],
    ['BEARER x', 'x'],
    ['bEaReR x', 'x'],
    ['Bearer   x', 'x'],
    [`Bearer ${key}`, key],
    ['Bearer abc==', 'abc=='],
    ['Bearer a-b.c_d~e+f/g', 'a-b.c_d~e+f/g'],
  ])('accepts %j', (header, token) => {
    expect(extractBearerToken(header)).toBe(token);
  });

  it.each([
    ['tab after the scheme', 'Bearer\tx'],
    ['scheme alone', 'Bearer'],
    ['scheme and a space', 'Bearer '],
    ['scheme and spaces', 'Bearer    '],
    ['Basic scheme', 'Basic x'],
    ['Token scheme', 'Token x'],
    ['no space', 'Bearerx'],
    ['no space before a key', `Bearer${key}`],
    ['longer scheme', 'XBearer x'],
    ['leading space', ' Bearer x'],
    ['trailing space', 'Bearer x '],
    ['two tokens', 'Bearer x y'],
    ['padding only', 'Bearer ='],
    ['padding in the middle', 'Bearer ab=c'],
    ['comma', 'Bearer a,b'],
    ['quote', 'Bearer "x"'],
    ['colon', 'Bearer a:b'],
    ['non-ASCII letter', 'Bearer clé'],
    ['non-ASCII space', 'Bearer\u00a0x'],
    ['emoji', 'Bearer 🔑'],
    ['line break', 'Bearer x\r\nX-Evil: 1'],
    ['empty string', ''],
  ])('refuses %s as malformed_authorization_header', (_, header) => {
    const result = extractBearerToken(header);
    expect(result).toBeInstanceOf(MalformedAuthorizationHeaderError);
    expect(codeOf(header)).toBe('malformed_authorization_header');
  });

  it.each([
    ['Basic x', true],
    ['Token x', true],
    ['Bearerx', true],
    [`Bearer${key}`, true], // one token, "Bearerork_live_…": another scheme by RFC 7235's grammar
    ['XBearer x', true],
    ['Bearer2 x', true],
    ['Digest username="a"', true],
    [`Basic ${'A'.repeat(2_000)}`, true], // too long, but of another scheme all the same
    ['Bearer', false],
    ['Bearer    ', false],
    ['Bearer\tx', false],
    ['bearer x y', false],
    ['Bearer ab=c', false],
    [`Bearer ${'A'.repeat(2_000)}`, false],
    [' Bearer x', false],
    ['', false],
    ['=x', false],
  ])('%j names another scheme: %s (RFC 6750 §3.1: a bare challenge)', (header, other) => {
    const result = extractBearerToken(header);
    if (!(result instanceof MalformedAuthorizationHeaderError)) throw new Error('not refused');
    expect(result.otherScheme).toBe(other);
    expect(result.challenge).toBe(other ? 'bare' : 'invalid_request');
  });

  it('several Authorization headers are a broken request, whatever their scheme', () => {
    const result = extractBearerToken(['Basic x', 'Basic y']);
    expect(result).toMatchObject({ otherScheme: false, challenge: 'invalid_request' });
  });

  it('treats no header, and an empty list of headers, as missing_api_key', () => {
    expect(extractBearerToken(undefined)).toBeInstanceOf(MissingApiKeyError);
    expect(extractBearerToken([])).toBeInstanceOf(MissingApiKeyError);
    expect(codeOf(undefined)).toBe('missing_api_key');
  });

  it('accepts a list of one value, refuses a list of several', () => {
    expect(extractBearerToken([`Bearer ${key}`])).toBe(key);
    expect(codeOf([`Bearer ${key}`, `Bearer ${key}`])).toBe('malformed_authorization_header');
    expect(codeOf(['Bearer a', 'Bearer b', 'Bearer c'])).toBe('malformed_authorization_header');
    expect(codeOf([''])).toBe('malformed_authorization_header');
  });

  it('refuses values that are not strings', () => {
    expect(codeOf(42 as unknown as string)).toBe('malformed_authorization_header');
    expect(codeOf([null] as unknown as string[])).toBe('malformed_authorization_header');
  });

  it('refuses a value longer than maxLength, accepts one exactly as long', () => {
    const token = 'a'.repeat(DEFAULT_MAX_HEADER_LENGTH - 'Bearer '.length);
    expect(extractBearerToken(`Bearer ${token}`)).toBe(token);
    expect(codeOf(`Bearer ${token}a`)).toBe('malformed_authorization_header');
    // "Bearer " + a 60-character key is 67 characters.
    expect(codeOf(`Bearer ${key}`, 67)).toBe(`token:${key}`);
    expect(codeOf(`Bearer ${key}`, 66)).toBe('malformed_authorization_header');
  });

  it('never puts the header value into the error', () => {
    for (const header of [`Token ${key}`, `Bearer ${key} extra`, [key, key], `Bearer ${key}é`]) {
      const result = extractBearerToken(header);
      expect(result).toBeInstanceOf(AuthError);
      expect(JSON.stringify(result)).not.toContain(key);
      expect(String((result as AuthError).message)).not.toContain(key);
    }
  });
});

describe('extractBearerToken properties', () => {
  const b64token = /^[A-Za-z0-9\-._~+/]+=*$/;

  it('any input yields a b64token or a header error, and never throws', () => {
    const input = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      fc.string().map((s) => `Bearer ${s}`),
      fc.string({ unit: 'binary' }).map((s) => `bearer ${s}`),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.array(
        fc.string().map((s) => `Bearer ${s}`),
        { maxLength: 3 },
      ),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(
        input,
        fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        (h, m) => {
          const result = extractBearerToken(h, m);
          if (typeof result === 'string') {
            expect(result).toMatch(b64token);
          } else {
            expect(result).toBeInstanceOf(AuthError);
            expect(
              result instanceof MissingApiKeyError ||
                result instanceof MalformedAuthorizationHeaderError,
            ).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('any b64token after any casing of "Bearer" and one or more spaces is returned as is', () => {
    const tokenChars = fc.constantFrom(...'ABCXYZabcxyz0189-._~+/'.split(''));
    const token = fc
      .tuple(
        fc.string({ unit: tokenChars, minLength: 1, maxLength: 80 }),
        fc.string({ unit: fc.constant('='), maxLength: 3 }),
      )
      .map(([body, pad]) => body + pad);
    const scheme = fc
      .array(fc.boolean(), { minLength: 6, maxLength: 6 })
      .map((upper) => [...'bearer'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
    fc.assert(
      fc.property(scheme, fc.integer({ min: 1, max: 5 }), token, (s, spaces, t) => {
        expect(extractBearerToken(`${s}${' '.repeat(spaces)}${t}`)).toBe(t);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('authorizationFromRawHeaders', () => {
  it('finds none', () => {
    expect(authorizationFromRawHeaders([])).toBeUndefined();
    expect(authorizationFromRawHeaders(['Host', 'x', 'Accept', '*/*'])).toBeUndefined();
    // A name of the right length but another spelling is not the Authorization header.
    expect(authorizationFromRawHeaders(['Authorisation', 'Bearer x'])).toBeUndefined();
  });

  it('finds one, whatever the case of its name', () => {
    expect(authorizationFromRawHeaders(['Host', 'x', 'authorization', 'Bearer a'])).toBe(
      'Bearer a',
    );
    expect(authorizationFromRawHeaders(['AUTHORIZATION', 'Bearer a'])).toBe('Bearer a');
  });

  it('finds several, in order, with names in any case', () => {
    expect(
      authorizationFromRawHeaders([
        'Authorization',
        'Bearer a',
        'Host',
        'x',
        'aUtHoRiZaTiOn',
        'Bearer b',
        'AUTHORIZATION',
        'Bearer c',
      ]),
    ).toEqual(['Bearer a', 'Bearer b', 'Bearer c']);
    expect(
      authorizationFromRawHeaders(['authorization', 'Bearer a', 'Authorization', 'Bearer a']),
    ).toEqual(['Bearer a', 'Bearer a']);
  });

  it('feeds extractBearerToken so that a duplicated header is refused', () => {
    const raw = ['Authorization', `Bearer ${key}`, 'authorization', `Bearer ${key}`];
    expect(codeOf(authorizationFromRawHeaders(raw))).toBe('malformed_authorization_header');
    expect(extractBearerToken(authorizationFromRawHeaders(raw.slice(0, 2)))).toBe(key);
  });
});
