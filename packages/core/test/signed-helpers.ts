import type { KeyObject } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import {
  type AuthenticatorOptions,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  createSigningKeys,
  type GeneratedSigningKey,
  generateSigningKey,
  MemoryKeyStore,
  type SigningKeys,
} from '../src/index.js';
import { KeyHasher } from '../src/store.js';
import { countingLookup, fakeClock, T0 } from './helpers.js';

export const ISSUER = 'https://keys.example.com';
export const AUDIENCE = 'https://api.example.com';
export const TYP = 'orkesta-key+jwt';

/** A fixed signing key pair per run, so the tests do not pay for key generation again and again. */
export const CURRENT = generateSigningKey({ kid: 'key-2026-11' });
export const PREVIOUS = generateSigningKey({ kid: 'key-2026-05' });

export function privateKeyOf(key: GeneratedSigningKey): KeyObject {
  return createPrivateKey({ key: key.privateKey, format: 'jwk' });
}

/** The issuer's signing keys: `CURRENT` signs, `PREVIOUS` is still published. */
export function issuerKeys(): SigningKeys {
  return createSigningKeys({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [
      { kid: CURRENT.kid, privateKey: CURRENT.privateKey },
      { kid: PREVIOUS.kid, publicKey: PREVIOUS.publicKey },
    ],
  });
}

/**
 * An issuer (KeyManager with `CURRENT`, publishing `PREVIOUS` too) and an authenticator that
 * verifies against its JWKS, on one memory store, with a fake clock and counted lookups.
 */
export function signedSetup(options: Partial<AuthenticatorOptions> = {}) {
  const clock = fakeClock();
  const signing = issuerKeys();
  const store = new MemoryKeyStore();
  const changeFeed = createLocalChangeFeed();
  const manager = createKeyManager({ store, now: clock.now, signing, changeFeed });
  const { lookup, calls } = countingLookup(store);
  const errors: { error: unknown; operation: string }[] = [];
  const auth = createAuthenticator({
    store: lookup,
    changeFeed,
    now: clock.now,
    lastUsed: false,
    signedKeys: { issuer: ISSUER, audience: AUDIENCE, jwks: signing.jwks() },
    hooks: { onError: (error, context) => errors.push({ error, operation: context.operation }) },
    ...options,
  });
  const issue = (
    input: { scope?: 'read-only' | 'read-write' | 'admin'; expiresAt?: number } = {},
  ) =>
    manager.create({
      workspaceId: 'ws_1',
      name: 'edge',
      scope: input.scope ?? 'read-write',
      kind: 'signed',
      ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
    });
  return { clock, signing, store, manager, changeFeed, auth, calls, errors, issue };
}

export interface Crafted {
  /** Protected header; default `{ alg: 'EdDSA', kid: CURRENT.kid, typ }`. */
  readonly header?: Record<string, unknown>;
  /** Claims over the defaults (`undefined` removes one). */
  readonly claims?: Record<string, unknown>;
  /** Signing key: default `CURRENT`'s private key; a byte array for HMAC. */
  readonly key?: KeyObject | Uint8Array;
  readonly id?: string;
  /** Environment in the prefix. */
  readonly env?: 'live' | 'test';
}

export const CRAFTED_ID = 'Cr4ftedKey01';

/** The claims the issuer would write for `CRAFTED_ID`, at T0. */
export function defaultClaims(id: string = CRAFTED_ID): Record<string, unknown> {
  return {
    workspace: 'ws_1',
    scope: 'read-write',
    env: 'live',
    iss: ISSUER,
    aud: AUDIENCE,
    jti: id,
    iat: T0 / 1000,
  };
}

/** A signed key made by hand, to show what the verifier does with each kind of token. */
export async function craft(options: Crafted = {}): Promise<string> {
  const id = options.id ?? CRAFTED_ID;
  const header = options.header ?? { alg: 'EdDSA', kid: CURRENT.kid, typ: TYP };
  const claims: Record<string, unknown> = { ...defaultClaims(id), ...options.claims };
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
  const jws = await new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(options.key ?? privateKeyOf(CURRENT));
  return `orks_${options.env ?? 'live'}_${id}_${jws}`;
}

/** An unsigned JWS (`alg: none`, empty signature), which no library should accept. */
export function unsecured(claims: Record<string, unknown> = defaultClaims()): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jws = `${part({ alg: 'none', kid: CURRENT.kid, typ: TYP })}.${part(claims)}.`;
  return `orks_live_${CRAFTED_ID}_${jws}`;
}

const hasher = new KeyHasher();

/** Records a crafted key in `store` as KeyManager would have: what makes it pass the lookup. */
export async function record(
  store: MemoryKeyStore,
  token: string,
  fields: { expiresAt?: Date | null; scope?: 'read-only' | 'read-write' | 'admin' } = {},
): Promise<void> {
  await store.insert({
    id: token.slice(10, 22),
    workspaceId: 'ws_1',
    name: 'crafted',
    scope: fields.scope ?? 'read-write',
    environment: 'live',
    hash: hasher.hashSignedKey(token),
    createdAt: new Date(T0),
    expiresAt: fields.expiresAt ?? null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
  });
}

/** `token` with its JWS claims replaced by `claims`, the signature left as it was. */
export function withClaims(token: string, claims: Record<string, unknown>): string {
  const [prefixAndHeader, , signature] = token.split('.');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${prefixAndHeader}.${payload}.${signature}`;
}

/** The JWS claims of a signed key, decoded without checking anything. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** The protected header of a signed key, decoded without checking anything. */
export function headerOf(token: string): Record<string, unknown> {
  const encoded = token.split('.')[0]!.slice(23);
  return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
}
