import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuthResult,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateApiKey,
  generateSigningKey,
  MemoryKeyStore,
} from '../src/index.js';
import { KeyHasher } from '../src/store.js';
import { bearer, countingLookup, T0 } from './helpers.js';
import {
  AUDIENCE,
  CRAFTED_ID,
  CURRENT,
  claimsOf,
  craft,
  defaultClaims,
  ISSUER,
  issuerKeys,
  PREVIOUS,
  privateKeyOf,
  record,
  signedSetup,
  TYP,
  unsecured,
  withClaims,
} from './signed-helpers.js';

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

describe('signed keys through the authenticator', () => {
  it('a signed key from KeyManager is admitted, with the principal its record names', async () => {
    const { auth, issue, clock } = signedSetup();
    const issued = await issue({ scope: 'admin', expiresAt: T0 + 3_600_000 });
    clock.advance(1_000);
    const result = await auth.authenticate(bearer(issued.key, { requiredScope: 'read-write' }));
    expect(result).toEqual({
      ok: true,
      key: {
        keyId: issued.record.id,
        workspaceId: 'ws_1',
        scope: 'admin',
        environment: 'live',
        expiresAt: new Date(T0 + 3_600_000),
      },
    });
  });

  it('the next request with the same key is answered from the cache, synchronously, with no lookup', async () => {
    const { auth, issue, calls } = signedSetup();
    const issued = await issue();
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    expect(calls).toEqual([issued.record.id]);
    const again = auth.authenticateMaybeSync(bearer(issued.key));
    expect(again).not.toBeInstanceOf(Promise);
    expect(codeOf(again as AuthResult)).toBe('ok');
    expect(calls).toHaveLength(1);
  });

  it('with verificationCache off every request checks the signature again (a promise), still without a lookup', async () => {
    const { auth, issue, calls } = signedSetup({
      signedKeys: {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: signingJwks(),
        verificationCache: false,
      },
    });
    const issued = await issue();
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    const again = auth.authenticateMaybeSync(bearer(issued.key));
    expect(again).toBeInstanceOf(Promise);
    expect(codeOf(await again)).toBe('ok');
    expect(calls).toHaveLength(1);
  });

  it('a key signed by a previous signing key still in the JWKS is admitted', async () => {
    const { auth, store } = signedSetup();
    const old = createKeyManager({
      store,
      now: () => T0,
      signing: createSigningKeys({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: PREVIOUS.kid, privateKey: PREVIOUS.privateKey }],
      }),
    });
    const issued = await old.create({
      workspaceId: 'ws_1',
      name: 'before the rotation',
      scope: 'read-only',
      kind: 'signed',
    });
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
  });

  it('revocation applies at once through the change feed, remembered key or not', async () => {
    const { auth, issue, manager } = signedSetup();
    const issued = await issue();
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    await manager.revoke(issued.record.id);
    const result = await auth.authenticate(bearer(issued.key));
    expect(result.ok || [result.error.code, result.error.status, result.error.keyId]).toEqual([
      'api_key_revoked',
      401,
      issued.record.id,
    ]);
  });

  it('a revoked key that has also expired answers api_key_revoked, as an opaque key does', async () => {
    const { auth, issue, manager, clock } = signedSetup();
    const issued = await issue({ expiresAt: T0 + 10_000 });
    await manager.revoke(issued.record.id);
    clock.set(T0 + 20_000);
    expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('api_key_revoked');
  });

  describe('expiry at the exact boundary (injected clock)', () => {
    it("the key's own exp: admitted 1 ms before, api_key_expired at it, also when remembered", async () => {
      const { auth, issue, clock } = signedSetup();
      const issued = await issue({ expiresAt: T0 + 10_000 });
      expect(claimsOf(issued.key).exp).toBe((T0 + 10_000) / 1000);
      clock.set(T0 + 9_999);
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
      clock.set(T0 + 10_000);
      const remembered = auth.authenticateMaybeSync(bearer(issued.key));
      expect(remembered).not.toBeInstanceOf(Promise);
      expect(codeOf(remembered as AuthResult)).toBe('api_key_expired');
    });

    it('the same with the verification cache off (jose judges exp; the pipeline answers in its order)', async () => {
      const { auth, issue, clock } = signedSetup({
        signedKeys: {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: signingJwks(),
          verificationCache: false,
        },
      });
      const issued = await issue({ expiresAt: T0 + 10_000 });
      clock.set(T0 + 9_999);
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
      clock.set(T0 + 10_000);
      const result = await auth.authenticate(bearer(issued.key));
      expect(result.ok || [result.error.code, result.error.keyId]).toEqual([
        'api_key_expired',
        issued.record.id,
      ]);
    });

    it("the record's earlier expiry wins over the key's exp (a rotation's overlap ends first)", async () => {
      const { auth, issue, manager, clock } = signedSetup();
      const issued = await issue({ expiresAt: T0 + 3_600_000 });
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
      await manager.rotate(issued.record.id, { overlapMs: 5_000 });
      clock.set(T0 + 4_999);
      const before = await auth.authenticate(bearer(issued.key));
      expect(before.ok && before.key.expiresAt).toEqual(new Date(T0 + 5_000));
      clock.set(T0 + 5_000);
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('api_key_expired');
    });

    it("the key's exp wins over a later expiry in its record", async () => {
      const { auth, store, clock } = signedSetup();
      const token = await craft({ claims: { exp: (T0 + 10_000) / 1000 } });
      await record(store, token, { expiresAt: new Date(T0 + 60_000) });
      clock.set(T0 + 9_999);
      const result = await auth.authenticate(bearer(token));
      expect(result.ok && result.key.expiresAt).toEqual(new Date(T0 + 10_000));
      clock.set(T0 + 10_000);
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('api_key_expired');
    });

    it('not before: invalid_api_key 1 ms before nbf, admitted at it', async () => {
      const { auth, store, clock, calls } = signedSetup();
      const token = await craft({ claims: { nbf: (T0 + 10_000) / 1000 } });
      await record(store, token);
      clock.set(T0 + 9_999);
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('invalid_api_key');
      expect(calls).toEqual([]); // refused before the store
      clock.set(T0 + 10_000);
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('ok');
    });
  });

  describe('attacks: each is invalid_api_key, refused before the store', () => {
    const attacks: [string, () => Promise<string>][] = [
      ['alg: none, no signature', async () => unsecured()],
      [
        'HS256 signed with the public key as the HMAC secret (algorithm confusion), PEM',
        () =>
          craft({
            header: { alg: 'HS256', kid: CURRENT.kid, typ: TYP },
            key: Buffer.from(publicPem()),
          }),
      ],
      [
        'HS256 signed with the raw public key bytes',
        () =>
          craft({
            header: { alg: 'HS256', kid: CURRENT.kid, typ: TYP },
            key: Buffer.from(String(CURRENT.publicKey.x), 'base64url'),
          }),
      ],
      [
        'an unknown kid',
        () =>
          craft({
            header: { alg: 'EdDSA', kid: 'key-unknown', typ: TYP },
            key: privateKeyOf(generateSigningKey()),
          }),
      ],
      [
        'a known kid, signed by another key',
        () => craft({ key: privateKeyOf(generateSigningKey()) }),
      ],
      [
        'a tampered payload (scope raised to admin), signature kept',
        async () => withClaims(await craft(), { ...defaultClaims(), scope: 'admin' }),
      ],
      ['another issuer', () => craft({ claims: { iss: 'https://evil.example.com' } })],
      ['another audience', () => craft({ claims: { aud: 'https://other-api.example.com' } })],
      ['no audience', () => craft({ claims: { aud: undefined } })],
      [
        'a JWT of the issuer without our typ',
        () => craft({ header: { alg: 'EdDSA', kid: CURRENT.kid } }),
      ],
      [
        'a JWT of the issuer of another typ',
        () => craft({ header: { alg: 'EdDSA', kid: CURRENT.kid, typ: 'at+jwt' } }),
      ],
      [
        'ES256 claimed over an Ed25519 signature',
        async () => rawSigned({ alg: 'ES256', kid: CURRENT.kid, typ: TYP }, defaultClaims()),
      ],
      [
        'EdDSA over a key signed with the right key but a header changed afterwards',
        async () => {
          const token = await craft();
          const header = Buffer.from(
            JSON.stringify({ alg: 'EdDSA', kid: PREVIOUS.kid, typ: TYP }),
          ).toString('base64url');
          const [, payload, signature] = token.slice(23).split('.');
          return `${token.slice(0, 23)}${header}.${payload}.${signature}`;
        },
      ],
      ['the prefix names another id than jti', () => craft({ claims: { jti: 'AAAAAAAAAAAA' } })],
      ['the prefix says test, the claims live', () => craft({ env: 'test' })],
      ['no workspace', () => craft({ claims: { workspace: undefined } })],
      ['an empty workspace', () => craft({ claims: { workspace: '' } })],
      ['a workspace of 201 characters', () => craft({ claims: { workspace: 'w'.repeat(201) } })],
      ['an unknown scope', () => craft({ claims: { scope: 'root' } })],
      ['a scope in a list', () => craft({ claims: { scope: ['admin'] } })],
      ['no iat', () => craft({ claims: { iat: undefined } })],
      ['a fractional exp', () => craft({ claims: { exp: T0 / 1000 + 3_600.5 } })],
      ['a non-numeric nbf', () => craft({ claims: { nbf: 'soon' } })],
      ['two segments only', async () => (await craft()).split('.').slice(0, 2).join('.')],
      ['a header that is not JSON', async () => (await craft()).replace('_eyJ', '_eyK')],
      [
        'a key longer than SIGNED_KEY_MAX_LENGTH',
        () => craft({ claims: { pad: 'x'.repeat(1_000) } }),
      ],
    ];

    it.each(attacks)('%s', async (_name, make) => {
      const { auth, store, calls } = signedSetup({ maxHeaderLength: 4_096 });
      const token = await make();
      // Recorded as if it had been issued, so that only the verification stands in the way.
      await record(store, token);
      const result = await auth.authenticate(bearer(token));
      expect(result.ok || [result.error.code, result.error.status, result.error.keyId]).toEqual([
        'invalid_api_key',
        401,
        undefined,
      ]);
      expect(calls).toEqual([]);
    });

    it('signed keys are refused when the authenticator has no signedKeys option', async () => {
      const { issue } = signedSetup();
      const issued = await issue();
      const store = new MemoryKeyStore();
      const { lookup, calls } = countingLookup(store);
      const auth = createAuthenticator({ store: lookup });
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('invalid_api_key');
      expect(calls).toEqual([]);
    });

    it('a signed key of an environment the authenticator does not accept', async () => {
      const { issue } = signedSetup();
      const issued = await issue();
      const { auth, calls } = signedSetup({ environments: ['test'] });
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('invalid_api_key');
      expect(calls).toEqual([]);
    });

    it('an oversized key is refused unread by the extract step (malformed_authorization_header)', async () => {
      const { auth, calls } = signedSetup();
      const token = await craft({ claims: { pad: 'x'.repeat(1_000) } });
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('malformed_authorization_header');
      expect(calls).toEqual([]);
    });

    it('invalid signed keys count as failed attempts for the brute-force throttle', async () => {
      const { auth } = signedSetup({ failedAttempts: { limit: 2, windowSeconds: 60 } });
      const token = unsecured();
      const from = { ip: '203.0.113.9' };
      expect(codeOf(await auth.authenticate(bearer(token, from)))).toBe('invalid_api_key');
      expect(codeOf(await auth.authenticate(bearer(token, from)))).toBe('invalid_api_key');
      expect(codeOf(await auth.authenticate(bearer(token, from)))).toBe('too_many_failed_attempts');
    });
  });

  describe('the store record decides, after the signature', () => {
    it('a validly signed key with no record: invalid_api_key, after one lookup', async () => {
      const { auth, calls } = signedSetup();
      const token = await craft();
      const result = await auth.authenticate(bearer(token));
      expect(result.ok || [result.error.code, result.error.keyId]).toEqual([
        'invalid_api_key',
        CRAFTED_ID,
      ]);
      expect(calls).toEqual([CRAFTED_ID]);
    });

    it('another validly signed token for a recorded id (a leaked signing key) does not match its hash', async () => {
      const { auth, store } = signedSetup();
      await record(store, await craft());
      const forged = await craft({ claims: { iat: T0 / 1000 + 1 } });
      expect(codeOf(await auth.authenticate(bearer(forged)))).toBe('invalid_api_key');
    });

    it('claims that disagree with the record (workspace or scope) are invalid', async () => {
      const { auth, store } = signedSetup();
      const token = await craft({ claims: { scope: 'admin' } });
      await record(store, token, { scope: 'read-only' });
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('invalid_api_key');
      const other = await craft({ id: 'OtherWorksp1', claims: { workspace: 'ws_2' } });
      await record(store, other); // recorded for ws_1
      expect(codeOf(await auth.authenticate(bearer(other)))).toBe('invalid_api_key');
    });

    it('a signed key against an opaque record, and an opaque key against a signed record', async () => {
      const { auth, store, issue } = signedSetup();
      // An opaque record whose hash is the plain SHA-256 of a signed token.
      const token = await craft();
      await store.insert({
        ...(await baseRecord(token)),
        hash: new KeyHasher().hash(token),
      });
      expect(codeOf(await auth.authenticate(bearer(token)))).toBe('invalid_api_key');
      // An opaque key is never admitted by a signed record, even with a matching digest.
      const opaque = generateApiKey('live');
      await store.insert({
        ...(await baseRecord(`orks_live_${opaque.id}_`)),
        hash: new KeyHasher().hashSignedKey(opaque.token),
      });
      expect(codeOf(await auth.authenticate(bearer(opaque.token)))).toBe('invalid_api_key');
      // A signed key KeyManager recorded is of course admitted.
      expect(codeOf(await auth.authenticate(bearer((await issue()).key)))).toBe('ok');
    });

    it('the store failing: 503 auth_unavailable, fail closed', async () => {
      const { issue, store } = signedSetup();
      const issued = await issue();
      const auth = createAuthenticator({
        store: {
          findById: () => {
            throw new Error('connection refused');
          },
        },
        signedKeys: { issuer: ISSUER, audience: AUDIENCE, jwks: signingJwks() },
      });
      expect(await store.findById(issued.record.id)).toBeDefined();
      const result = await auth.authenticate(bearer(issued.key));
      expect(result.ok || [result.error.code, result.error.status]).toEqual([
        'auth_unavailable',
        503,
      ]);
    });

    it('workspace and scope steps apply to signed keys as to opaque ones', async () => {
      const { auth, issue } = signedSetup();
      const issued = await issue({ scope: 'read-only' });
      expect(codeOf(await auth.authenticate(bearer(issued.key, { workspaceId: 'ws_2' })))).toBe(
        'workspace_mismatch',
      );
      expect(
        codeOf(await auth.authenticate(bearer(issued.key, { requiredScope: 'read-write' }))),
      ).toBe('insufficient_scope');
    });

    it('opaque keys still work beside signed ones, remembered as before', async () => {
      const { auth, manager, calls } = signedSetup();
      const opaque = await manager.create({ workspaceId: 'ws_1', name: 'o', scope: 'admin' });
      expect(codeOf(await auth.authenticate(bearer(opaque.key)))).toBe('ok');
      expect(codeOf(auth.authenticateMaybeSync(bearer(opaque.key)) as AuthResult)).toBe('ok');
      expect(calls).toHaveLength(1);
    });

    it('a remembered key of another length or content is not mistaken for it', async () => {
      const { auth, issue } = signedSetup();
      const issued = await issue();
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
      // Same id, another validly signed token of the same length: not the remembered one.
      const twin = await craft({
        id: issued.record.id,
        claims: { ...claimsOf(issued.key), iat: T0 / 1000 + 1 },
      });
      expect(twin.length).toBe(issued.key.length);
      expect(codeOf(await auth.authenticate(bearer(twin)))).toBe('invalid_api_key');
      const longer = await craft({
        id: issued.record.id,
        claims: { ...claimsOf(issued.key), x: 1 },
      });
      expect(codeOf(await auth.authenticate(bearer(longer)))).toBe('invalid_api_key');
      expect(codeOf(await auth.authenticate(bearer(issued.key)))).toBe('ok');
    });
  });

  describe('ES256', () => {
    it('P-256 keys sign and verify when the authenticator allows ES256', async () => {
      const ec = generateSigningKey({ kid: 'p256', algorithm: 'ES256' });
      const signing = createSigningKeys({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: ec.kid, privateKey: ec.privateKey }],
      });
      expect(signing.algorithm).toBe('ES256');
      const store = new MemoryKeyStore();
      const manager = createKeyManager({ store, signing });
      const issued = await manager.create({
        workspaceId: 'ws_1',
        name: 'ec',
        scope: 'read-only',
        kind: 'signed',
      });
      const both = createAuthenticator({
        store,
        signedKeys: {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: signing.jwks(),
          algorithms: ['EdDSA', 'ES256'],
        },
      });
      expect(codeOf(await both.authenticate(bearer(issued.key)))).toBe('ok');
    });

    it('an ES256 JWKS needs ES256 among the algorithms: a ConfigurationError otherwise', () => {
      const ec = generateSigningKey({ kid: 'p256', algorithm: 'ES256' });
      expect(() =>
        createAuthenticator({
          store: new MemoryKeyStore(),
          signedKeys: {
            issuer: ISSUER,
            audience: AUDIENCE,
            jwks: { keys: [ec.publicKey as never] },
          },
        }),
      ).toThrow(/does not allow/);
    });
  });

  describe('signedKeys options are checked at creation', () => {
    const store = new MemoryKeyStore();
    const jwks = signingJwks();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'jwk',
    });
    const bad: [string, unknown][] = [
      ['not an object', 'yes'],
      ['no issuer', { audience: AUDIENCE, jwks }],
      ['an empty issuer', { issuer: '', audience: AUDIENCE, jwks }],
      ['no audience', { issuer: ISSUER, jwks }],
      ['no jwks', { issuer: ISSUER, audience: AUDIENCE }],
      ['a jwks that is not a set', { issuer: ISSUER, audience: AUDIENCE, jwks: [] }],
      ['a jwks of null', { issuer: ISSUER, audience: AUDIENCE, jwks: null }],
      ['an empty jwks', { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } }],
      [
        'a private key in the jwks',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [CURRENT.privateKey] } },
      ],
      [
        'a key without kid',
        {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [{ ...CURRENT.publicKey, kid: undefined }] },
        },
      ],
      [
        'two keys with one kid',
        {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [CURRENT.publicKey, CURRENT.publicKey] },
        },
      ],
      ['a key that is not an object', { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [7] } }],
      [
        'an RSA key',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [{ ...rsa, kid: 'rsa' }] } },
      ],
      [
        'a key Node cannot read',
        {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '', kid: 'x' }] },
        },
      ],
      [
        'a key whose alg is not its type',
        {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwks: { keys: [{ ...CURRENT.publicKey, alg: 'ES256' }] },
        },
      ],
      ['an unknown algorithm', { issuer: ISSUER, audience: AUDIENCE, jwks, algorithms: ['HS256'] }],
      ['no algorithm at all', { issuer: ISSUER, audience: AUDIENCE, jwks, algorithms: [] }],
      ['algorithms not a list', { issuer: ISSUER, audience: AUDIENCE, jwks, algorithms: 'EdDSA' }],
      [
        'verificationCache not a boolean',
        { issuer: ISSUER, audience: AUDIENCE, jwks, verificationCache: 'yes' },
      ],
      [
        'a remote URL that is not one',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'keys' } },
      ],
      [
        'a remote URL over plain http to another host',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'http://keys.example.com/jwks.json' } },
      ],
      [
        'a remote URL of another protocol',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'ftp://127.0.0.1/jwks.json' } },
      ],
      [
        'a cool-down of 0',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'https://k.example/j', cooldownMs: 0 } },
      ],
      [
        'a max age that is not a number',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'https://k.example/j', maxAgeMs: '1' } },
      ],
      [
        'a negative timeout',
        { issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'https://k.example/j', timeoutMs: -1 } },
      ],
    ];

    it.each(bad)('%s', (_name, signedKeys) => {
      expect(() => createAuthenticator({ store, signedKeys: signedKeys as never })).toThrow(
        ConfigurationError,
      );
    });

    it('the error about a private key in the JWKS does not carry the key', () => {
      try {
        createAuthenticator({
          store,
          signedKeys: {
            issuer: ISSUER,
            audience: AUDIENCE,
            jwks: { keys: [CURRENT.privateKey as never] },
          },
        });
        expect.unreachable();
      } catch (error) {
        expect(String((error as Error).message)).not.toContain(String(CURRENT.privateKey.d));
      }
    });

    it('accepts https anywhere and http on loopback, without fetching anything yet', () => {
      for (const url of [
        'https://keys.example.com/.well-known/jwks.json',
        new URL('http://127.0.0.1:1/jwks.json'),
        'http://localhost:1/jwks.json',
        'http://[::1]:1/jwks.json',
      ]) {
        expect(() =>
          createAuthenticator({
            store,
            signedKeys: { issuer: ISSUER, audience: AUDIENCE, jwks: { url } },
          }),
        ).not.toThrow();
      }
    });
  });
});

function signingJwks() {
  return issuerKeys().jwks();
}

function publicPem(): string {
  return createPublicKey({ key: CURRENT.publicKey, format: 'jwk' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

async function baseRecord(token: string) {
  const id = token.slice(10, 22);
  return {
    id,
    workspaceId: 'ws_1',
    name: 'x',
    scope: 'read-write' as const,
    environment: 'live' as const,
    createdAt: new Date(T0),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
  };
}

/** A JWS with any header, signed with `CURRENT`'s Ed25519 key whatever the header says. */
function rawSigned(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  const signature = sign(null, Buffer.from(input), privateKeyOf(CURRENT)).toString('base64url');
  return `orks_live_${CRAFTED_ID}_${input}.${signature}`;
}
