import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createKeyManager,
  createSigningKeys,
  keyKind,
  MemoryKeyStore,
  parseSignedKey,
  SIGNED_KEY_SCANNER_PATTERN,
} from '../src/index.js';
import { bearer, rejection, T0 } from './helpers.js';
import {
  AUDIENCE,
  CURRENT,
  claimsOf,
  headerOf,
  ISSUER,
  PREVIOUS,
  signedSetup,
} from './signed-helpers.js';

const input = {
  workspaceId: 'ws_1',
  name: 'edge-worker-eu',
  scope: 'read-write' as const,
  kind: 'signed' as const,
};

describe('KeyManager and signed keys', () => {
  it('issues a signed key: returned once, recorded like an opaque key, its hash the SHA-256 of the token', async () => {
    const { manager, store, clock } = signedSetup();
    clock.set(T0 + 1_234);
    const issued = await manager.create({ ...input, expiresAt: T0 + 86_400_000 });
    expect(keyKind(issued.key)).toBe('signed');
    expect(SIGNED_KEY_SCANNER_PATTERN.test(issued.key)).toBe(true);
    expect(parseSignedKey(issued.key)?.id).toBe(issued.record.id);
    expect(issued.record).toEqual({
      id: issued.record.id,
      kind: 'signed',
      workspaceId: 'ws_1',
      name: 'edge-worker-eu',
      scope: 'read-write',
      environment: 'live',
      status: 'active',
      createdAt: new Date(T0 + 1_234),
      expiresAt: new Date(T0 + 86_400_000),
      revokedAt: null,
      lastUsedAt: null,
      rotatedFromId: null,
      rateLimit: null,
    });
    const stored = (await store.findById(issued.record.id))!;
    const digest = createHash('sha256').update(issued.key).digest('base64url');
    expect(stored.hash).toBe(`jws-sha256$${digest}`);
    // Neither the token nor its signature is kept anywhere in the store.
    const everything = JSON.stringify(await store.list({ now: new Date(T0), limit: 10 }));
    expect(everything).not.toContain(issued.key.slice(-86));
    expect(claimsOf(issued.key)).toMatchObject({
      jti: issued.record.id,
      workspace: 'ws_1',
      scope: 'read-write',
      env: 'live',
      iat: T0 / 1000 + 1,
      exp: (T0 + 86_400_000) / 1000,
    });
    expect(headerOf(issued.key)).toMatchObject({ kid: CURRENT.kid, alg: 'EdDSA' });
    expect(JSON.stringify(issued) + inspect(issued) + String(issued)).not.toContain(issued.key);
  });

  it("rounds expiresAt down to the second, so the record and the key's exp agree", async () => {
    const { manager } = signedSetup();
    const issued = await manager.create({ ...input, expiresAt: new Date(T0 + 60_999) });
    expect(issued.record.expiresAt).toEqual(new Date(T0 + 60_000));
    expect(claimsOf(issued.key).exp).toBe((T0 + 60_000) / 1000);
  });

  it('refuses an expiry that rounds down to now or before', async () => {
    const { manager, clock } = signedSetup();
    clock.set(T0 + 200);
    const error = await rejection(manager.create({ ...input, expiresAt: T0 + 900 }));
    expect(error.code).toBe('invalid_key_parameters');
  });

  it('a test-environment signed key says so in its prefix and claims', async () => {
    const { manager } = signedSetup();
    const issued = await manager.create({ ...input, environment: 'test' });
    expect(issued.key.startsWith(`orks_test_${issued.record.id}_`)).toBe(true);
    expect(claimsOf(issued.key).env).toBe('test');
    expect(issued.record.environment).toBe('test');
  });

  it('lists signed keys beside opaque ones, with their kind', async () => {
    const { manager, clock } = signedSetup();
    const opaque = await manager.create({ ...input, kind: 'opaque' });
    clock.advance(1);
    const signed = await manager.create(input);
    clock.advance(1);
    const plain = await manager.create({ workspaceId: 'ws_1', name: 'x', scope: 'admin' });
    const { items } = await manager.list({ workspaceId: 'ws_1' });
    expect(items.map((key) => [key.id, key.kind])).toEqual([
      [plain.record.id, 'opaque'],
      [signed.record.id, 'signed'],
      [opaque.record.id, 'opaque'],
    ]);
    expect((await manager.get(signed.record.id))?.kind).toBe('signed');
  });

  it('revokes a signed key like any key', async () => {
    const { manager, auth, clock } = signedSetup();
    const issued = await manager.create(input);
    clock.advance(5);
    const revoked = await manager.revoke(issued.record.id);
    expect(revoked).toMatchObject({
      kind: 'signed',
      status: 'revoked',
      revokedAt: new Date(T0 + 5),
    });
    const result = await auth.authenticate(bearer(issued.key));
    expect(result.ok || result.error.code).toBe('api_key_revoked');
  });

  it('rotates a signed key into a signed successor, signed by the current signing key', async () => {
    const { store, auth, clock } = signedSetup();
    // The key was issued before the signing keys rotated.
    const before = createKeyManager({
      store,
      now: () => T0,
      signing: {
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [{ kid: PREVIOUS.kid, privateKey: PREVIOUS.privateKey }],
      },
    });
    const old = await before.create({ ...input, expiresAt: T0 + 3_600_000 });
    expect(headerOf(old.key).kid).toBe(PREVIOUS.kid);
    const after = createKeyManager({
      store,
      now: () => T0 + 1_000,
      signing: createSigningKeys({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [
          { kid: CURRENT.kid, privateKey: CURRENT.privateKey },
          { kid: PREVIOUS.kid, publicKey: PREVIOUS.publicKey },
        ],
      }),
    });
    const { issued, previous } = await after.rotate(old.record.id, { overlapMs: 10_000 });
    expect(issued.record).toMatchObject({
      kind: 'signed',
      rotatedFromId: old.record.id,
      scope: 'read-write',
    });
    expect(headerOf(issued.key).kid).toBe(CURRENT.kid);
    // Same life as the old key had, from now, in whole seconds.
    expect(issued.record.expiresAt).toEqual(new Date(T0 + 1_000 + 3_600_000));
    expect(claimsOf(issued.key).exp).toBe((T0 + 3_601_000) / 1000);
    expect(previous.expiresAt).toEqual(new Date(T0 + 11_000));
    clock.set(T0 + 10_999);
    for (const key of [old.key, issued.key]) {
      const result = await auth.authenticate(bearer(key));
      expect(result.ok || result.error.code).toBe(true);
    }
    clock.set(T0 + 11_000);
    const refused = await auth.authenticate(bearer(old.key));
    expect(refused.ok || refused.error.code).toBe('api_key_expired');
  });

  it('a rotation with an explicit expiry rounds it to the second', async () => {
    const { manager } = signedSetup();
    const old = await manager.create(input);
    const { issued } = await manager.rotate(old.record.id, { expiresAt: T0 + 7_777 });
    expect(issued.record.expiresAt).toEqual(new Date(T0 + 7_000));
  });

  it('a manager without signing keys cannot create or rotate signed keys: a ConfigurationError', async () => {
    const { store, manager } = signedSetup();
    const signed = await manager.create(input);
    const plain = createKeyManager({ store });
    await expect(plain.create(input)).rejects.toThrow(ConfigurationError);
    await expect(plain.rotate(signed.record.id)).rejects.toThrow(ConfigurationError);
    // It still lists, revokes and rotates opaque keys, and revokes signed ones.
    expect((await plain.revoke(signed.record.id)).status).toBe('revoked');
  });

  it('refuses an unknown kind', async () => {
    const { manager } = signedSetup();
    const error = await rejection(manager.create({ ...input, kind: 'jwt' as never }));
    expect(error.code).toBe('invalid_key_parameters');
  });

  it('refuses signing options that are wrong when the manager is made', () => {
    expect(() =>
      createKeyManager({
        store: new MemoryKeyStore(),
        signing: { issuer: ISSUER, audience: AUDIENCE, keys: [] },
      }),
    ).toThrow(ConfigurationError);
  });
});
