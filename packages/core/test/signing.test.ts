import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_SCANNER_PATTERN,
  ConfigurationError,
  createSigningKeys,
  generateApiKey,
  generateSigningKey,
  JWKS_CONTENT_TYPE,
  jwksResponse,
  keyKind,
  parseSignedKey,
  SIGNED_KEY_MAX_LENGTH,
  SIGNED_KEY_SCANNER_PATTERN,
  SIGNED_KEY_TYPE,
  SigningKeys,
} from '../src/index.js';
import { KeyHasher, storedKeyKind } from '../src/store.js';
import { T0 } from './helpers.js';
import {
  AUDIENCE,
  CURRENT,
  claimsOf,
  craft,
  headerOf,
  ISSUER,
  issuerKeys,
  PREVIOUS,
} from './signed-helpers.js';

const content = {
  id: 'AbCdEfGh1234',
  environment: 'live' as const,
  workspaceId: 'ws_1',
  scope: 'read-write' as const,
  issuedAt: T0 + 999,
  expiresAt: T0 + 3_600_000,
};

const signing = issuerKeys;

describe('the signed key format', () => {
  it('orks_<env>_<id>_<compact JWS>: typ, kid and alg in the header; iss, aud, jti, workspace, scope, env, iat, exp in the claims', async () => {
    const token = await signing().signKey(content);
    expect(token.startsWith('orks_live_AbCdEfGh1234_eyJ')).toBe(true);
    expect(token.slice(23).split('.')).toHaveLength(3);
    expect(headerOf(token)).toEqual({ alg: 'EdDSA', kid: CURRENT.kid, typ: SIGNED_KEY_TYPE });
    expect(claimsOf(token)).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      jti: 'AbCdEfGh1234',
      workspace: 'ws_1',
      scope: 'read-write',
      env: 'live',
      iat: T0 / 1000, // rounded down to the second
      exp: (T0 + 3_600_000) / 1000,
    });
    expect(token.length).toBeLessThan(SIGNED_KEY_MAX_LENGTH);
    // The JWS is an ordinary JWT: jose verifies it with the published key alone.
    const { payload } = await jwtVerify(token.slice(23), createLocalJWKSet(signing().jwks()), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: SIGNED_KEY_TYPE,
      currentDate: new Date(T0),
    });
    expect(payload.jti).toBe('AbCdEfGh1234');
  });

  it('a key without expiry carries no exp', async () => {
    const token = await signing().signKey({ ...content, expiresAt: null, environment: 'test' });
    expect(token.startsWith('orks_test_')).toBe(true);
    expect(claimsOf(token)).not.toHaveProperty('exp');
    expect(claimsOf(token).env).toBe('test');
  });

  it('with the longest issuer, audience, kid and workspace, a key fits SIGNED_KEY_MAX_LENGTH and a 1 KiB header', async () => {
    const kid = 'k'.repeat(40);
    const longest = createSigningKeys({
      issuer: `https://${'i'.repeat(92)}`,
      audience: `https://${'a'.repeat(92)}`,
      keys: [{ kid, privateKey: generateSigningKey({ kid, algorithm: 'ES256' }).privateKey }],
    });
    const token = await longest.signKey({
      ...content,
      workspaceId: 'w'.repeat(200),
      scope: 'read-write',
      issuedAt: 8.64e15,
      expiresAt: 8.64e15,
    });
    expect(token.length).toBeLessThanOrEqual(SIGNED_KEY_MAX_LENGTH);
    expect(`Bearer ${token}`.length).toBeLessThanOrEqual(1_024);
    expect(parseSignedKey(token)).toBeDefined();
  });

  it('scanners tell the kinds apart: each pattern matches its own kind only', async () => {
    const signed = await signing().signKey(content);
    const opaque = generateApiKey('live').token;
    expect(SIGNED_KEY_SCANNER_PATTERN.test(signed)).toBe(true);
    expect(API_KEY_SCANNER_PATTERN.test(signed)).toBe(false);
    expect(SIGNED_KEY_SCANNER_PATTERN.test(opaque)).toBe(false);
    expect(API_KEY_SCANNER_PATTERN.test(opaque)).toBe(true);
    // Found inside other text, as scanners do.
    expect(`token="${signed}";`.match(SIGNED_KEY_SCANNER_PATTERN)?.[0]).toBe(signed);
    const es = createSigningKeys({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [{ kid: 'p', privateKey: generateSigningKey({ algorithm: 'ES256' }).privateKey }],
    });
    expect(SIGNED_KEY_SCANNER_PATTERN.test(await es.signKey(content))).toBe(true);
  });

  it('keyKind and parseSignedKey read the kind from the prefix and shape', async () => {
    const signed = await signing().signKey(content);
    const opaque = generateApiKey('test').token;
    expect(keyKind(signed)).toBe('signed');
    expect(keyKind(opaque)).toBe('opaque');
    expect(keyKind(`${opaque.slice(0, -1)}${opaque.endsWith('0') ? '1' : '0'}`)).toBeUndefined();
    expect(keyKind('orks_live_')).toBeUndefined();
    expect(keyKind('hello')).toBeUndefined();
    expect(parseSignedKey(signed)).toEqual({
      environment: 'live',
      id: 'AbCdEfGh1234',
      jws: signed.slice(23),
      token: signed,
    });
    expect(parseSignedKey(signed.replace('orks_live_', 'orks_test_'))?.environment).toBe('test');
  });

  it('parseSignedKey refuses anything off the shape, without decoding it', async () => {
    const signed = await signing().signKey(content);
    const [header, claims, signature] = signed.slice(23).split('.');
    const off = [
      signed.replace('orks_live_', 'ork_live_'),
      signed.replace('orks_live_', 'orks_prod_'),
      signed.replace('AbCdEfGh1234', 'AbCdEfGh123!'),
      signed.replace('AbCdEfGh1234_', 'AbCdEfGh123_'),
      `orks_live_AbCdEfGh1234_${header}.${claims}`,
      `orks_live_AbCdEfGh1234_${header}.${claims}.${signature}.x`,
      `orks_live_AbCdEfGh1234_x${header}.${claims}.${signature}`,
      `orks_live_AbCdEfGh1234_${header}.x${claims}.${signature}`,
      `orks_live_AbCdEfGh1234_${header}.${claims}.${signature}=`,
      `${signed}${'A'.repeat(SIGNED_KEY_MAX_LENGTH - signed.length + 1)}`,
    ];
    for (const token of off) expect(parseSignedKey(token), token.slice(0, 40)).toBeUndefined();
    expect(
      parseSignedKey(`${signed}${'A'.repeat(SIGNED_KEY_MAX_LENGTH - signed.length)}`),
    ).toBeDefined();
  });

  it('no random b64token is mistaken for a signed key by the scanner', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9A-Za-z._~+/-]{1,300}$/), (token) => {
        expect(SIGNED_KEY_SCANNER_PATTERN.test(token)).toBe(false);
      }),
    );
  });

  it('crafted keys in the tests have the shape too (they are refused for what they say, not for their form)', async () => {
    expect(parseSignedKey(await craft())).toBeDefined();
  });
});

describe('SigningKeys', () => {
  it('the first key signs; every key is published, public half only, with kid, alg and use', () => {
    const keys = signing();
    expect([keys.kid, keys.algorithm, keys.issuer, keys.audience]).toEqual([
      CURRENT.kid,
      'EdDSA',
      ISSUER,
      AUDIENCE,
    ]);
    const { x: currentX } = CURRENT.publicKey;
    expect(keys.jwks()).toEqual({
      keys: [
        { kty: 'OKP', crv: 'Ed25519', x: currentX, kid: CURRENT.kid, alg: 'EdDSA', use: 'sig' },
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: PREVIOUS.publicKey.x,
          kid: PREVIOUS.kid,
          alg: 'EdDSA',
          use: 'sig',
        },
      ],
    });
    expect(JSON.stringify(keys.jwks())).not.toContain(String(CURRENT.privateKey.d));
    expect(inspect(keys, { depth: 5 }) + JSON.stringify(keys)).not.toContain(
      String(CURRENT.privateKey.d),
    );
  });

  it('jwks() hands out a copy each time', () => {
    const keys = signing();
    const jwks = keys.jwks();
    (jwks.keys[0] as { kid: string }).kid = 'changed';
    jwks.keys.pop();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([CURRENT.kid, PREVIOUS.kid]);
  });

  it('reads keys as JWKs, KeyObjects or PEM, and a private key for a published-only entry', () => {
    const pair = generateKeyPairSync('ed25519');
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const publicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const keys = createSigningKeys({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: [
        { kid: 'pem', privateKey: pem, publicKey: publicPem },
        { kid: 'object', privateKey: createPrivateKey({ key: CURRENT.privateKey, format: 'jwk' }) },
        {
          kid: 'public-object',
          publicKey: createPublicKey({ key: PREVIOUS.publicKey, format: 'jwk' }),
        },
      ],
    });
    expect(keys.kid).toBe('pem');
    expect(keys.jwks().keys.map((k) => [k.kid, k.x])).toEqual([
      ['pem', pair.publicKey.export({ format: 'jwk' }).x],
      ['object', CURRENT.publicKey.x],
      ['public-object', PREVIOUS.publicKey.x],
    ]);
  });

  const bad: [string, unknown][] = [
    ['no options', undefined],
    ['no issuer', { audience: AUDIENCE, keys: [{ kid: 'a', privateKey: CURRENT.privateKey }] }],
    ['an issuer with a space', { issuer: 'my issuer', audience: AUDIENCE, keys: [] }],
    ['an issuer of 101 characters', { issuer: 'i'.repeat(101), audience: AUDIENCE, keys: [] }],
    ['no audience', { issuer: ISSUER, keys: [{ kid: 'a', privateKey: CURRENT.privateKey }] }],
    ['no keys', { issuer: ISSUER, audience: AUDIENCE, keys: [] }],
    ['keys not a list', { issuer: ISSUER, audience: AUDIENCE, keys: {} }],
    [
      'a key without kid',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ privateKey: CURRENT.privateKey }] },
    ],
    [
      'a kid with a space',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: 'a b', privateKey: CURRENT.privateKey }],
      },
    ],
    [
      'a kid of 41 characters',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: 'k'.repeat(41), privateKey: CURRENT.privateKey }],
      },
    ],
    ['a key that is null', { issuer: ISSUER, audience: AUDIENCE, keys: [null] }],
    [
      'one kid twice',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { kid: 'a', privateKey: CURRENT.privateKey },
          { kid: 'a', publicKey: PREVIOUS.publicKey },
        ],
      },
    ],
    ['a key with neither half', { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a' }] }],
    [
      'a first key without its private half',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a', publicKey: CURRENT.publicKey }] },
    ],
    [
      "a public key that is not the private key's",
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: 'a', privateKey: CURRENT.privateKey, publicKey: PREVIOUS.publicKey }],
      },
    ],
    [
      'a public key given as the private key',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a', privateKey: CURRENT.publicKey }] },
    ],
    [
      'a private key given as the public key',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { kid: 'a', privateKey: CURRENT.privateKey },
          { kid: 'b', publicKey: createPrivateKey({ key: PREVIOUS.privateKey, format: 'jwk' }) },
        ],
      },
    ],
    [
      'PEM text that is not a key',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a', privateKey: 'secret' }] },
    ],
    [
      'a number for a key',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a', privateKey: 42 }] },
    ],
    [
      'null for a key',
      { issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'a', privateKey: null }] },
    ],
    [
      'an RSA key',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { kid: 'a', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
        ],
      },
    ],
    [
      'a P-384 key',
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { kid: 'a', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey },
        ],
      },
    ],
  ];

  it.each(bad)('refuses %s with a ConfigurationError', (_name, options) => {
    expect(() => createSigningKeys(options as never)).toThrow(ConfigurationError);
  });

  it('a refused key is not repeated in the error', () => {
    const secret = `-----BEGIN PRIVATE KEY-----\n${'Q'.repeat(64)}\n-----END PRIVATE KEY-----`;
    try {
      createSigningKeys({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: 'a', privateKey: secret }],
      });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('QQQQ');
    }
  });

  it('generateSigningKey: Ed25519 by default, P-256 on request, a random kid unless given', () => {
    const ed = generateSigningKey();
    expect(ed.algorithm).toBe('EdDSA');
    expect(ed.kid).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(ed.privateKey).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: ed.kid, alg: 'EdDSA' });
    expect(ed.privateKey.d).toEqual(expect.any(String));
    expect(ed.publicKey).not.toHaveProperty('d');
    const ec = generateSigningKey({ kid: 'my-key.1', algorithm: 'ES256' });
    expect(ec).toMatchObject({ kid: 'my-key.1', algorithm: 'ES256' });
    expect(ec.publicKey).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'my-key.1', alg: 'ES256' });
    expect(generateSigningKey().kid).not.toBe(ed.kid);
    expect(() => generateSigningKey({ algorithm: 'RS256' as never })).toThrow(ConfigurationError);
    expect(() => generateSigningKey({ kid: '' })).toThrow(ConfigurationError);
  });
});

describe('jwksResponse: the JWKS as a response for any framework', () => {
  it('200, application/jwk-set+json, cacheable for 5 minutes by default, the public keys as JSON', () => {
    const keys = signing();
    const response = jwksResponse(keys);
    expect(response).toEqual({
      status: 200,
      headers: { 'Content-Type': JWKS_CONTENT_TYPE, 'Cache-Control': 'public, max-age=300' },
      body: JSON.stringify(keys.jwks()),
    });
    expect(JWKS_CONTENT_TYPE).toBe('application/jwk-set+json');
    expect(Object.isFrozen(response) && Object.isFrozen(response.headers)).toBe(true);
  });

  it('takes maxAgeSeconds, and a plain JWKS of public keys', () => {
    const jwks = signing().jwks();
    const response = jwksResponse(jwks, { maxAgeSeconds: 60 });
    expect(response.headers['Cache-Control']).toBe('public, max-age=60');
    expect(JSON.parse(response.body)).toEqual(jwks);
  });

  it('refuses, at creation, a set with private or symmetric material, and bad options', () => {
    const privateSet = { keys: [CURRENT.privateKey] };
    expect(() => jwksResponse(privateSet as never)).toThrow(ConfigurationError);
    expect(() =>
      jwksResponse({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] } as never),
    ).toThrow(/private key material/);
    expect(() => jwksResponse({ keys: [] })).toThrow(ConfigurationError);
    expect(() => jwksResponse('nope' as never)).toThrow(ConfigurationError);
    expect(() => jwksResponse(signing(), { maxAgeSeconds: 0 })).toThrow(ConfigurationError);
    expect(() => jwksResponse(signing(), { maxAgeSeconds: 1.5 })).toThrow(ConfigurationError);
  });

  it('SigningKeys is the class createSigningKeys makes', () => {
    expect(signing()).toBeInstanceOf(SigningKeys);
  });
});

describe('stored hashes of signed keys', () => {
  it('jws-sha256$<SHA-256 of the whole token>, whatever the pepper, and verifiable without it', () => {
    const peppered = new KeyHasher({ pepper: { id: 'p1', secret: 'x'.repeat(32) } });
    const plain = new KeyHasher();
    const token = 'orks_live_AbCdEfGh1234_eyJ.eyJ.sig';
    const stored = peppered.hashSignedKey(token);
    expect(stored).toBe(plain.hashSignedKey(token));
    expect(stored).toMatch(/^jws-sha256\$[A-Za-z0-9_-]{43}$/);
    const decoded = plain.decode(stored)!;
    expect(decoded).toMatchObject({ scheme: 'jws-sha256', pepperId: undefined });
    expect(plain.canVerify(decoded) && plain.verify(token, decoded)).toBe(true);
    expect(plain.verify(`${token}x`, decoded)).toBe(false);
    expect(storedKeyKind(stored)).toBe('signed');
    expect(storedKeyKind(plain.hash(token))).toBe('opaque');
    expect(storedKeyKind(peppered.hash(token))).toBe('opaque');
    expect(plain.decode('jws-sha256$short')).toBeUndefined();
  });
});
