import { createPrivateKey, createPublicKey } from 'node:crypto';
import type {
  AuthenticatedEvent,
  Authenticator,
  AuthHooks,
  ErrorContext,
  InsecureKeyEvent,
  KeyLookup,
  KeyManager,
  RejectedEvent,
  SigningKeys,
} from '@orkesta/auth';
import {
  combineHooks,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  createSigningKeys,
  generateApiKey,
  generateSigningKey,
  KEY_LENGTH,
  keyChecksum,
  MemoryKeyStore,
  SIGNED_KEY_TYPE,
} from '@orkesta/auth';
import { KeyHasher } from '@orkesta/auth/store';
import { SignJWT } from 'jose';

export const REALM = 'orkesta-test';
export const WORKSPACE = 'ws_alpha';
export const OTHER_WORKSPACE = 'ws_beta';
const T0 = Date.parse('2026-11-27T10:00:00Z');

/** The keys the conformance table uses, each in the state its name says. */
export interface ContractKeys {
  readonly readOnly: string;
  readonly readWrite: string;
  readonly admin: string;
  readonly revoked: string;
  readonly expired: string;
  /** A valid `ork_test_` key; the contract authenticator accepts `live` keys only. */
  readonly otherEnvironment: string;
  /** A well-formed key whose lookup fails in the store. */
  readonly storeFails: string;
  /** Well-formed, right checksum, id never issued. */
  readonly unknownId: string;
  /** The read-only key's id with another secret (and a correct checksum). */
  readonly wrongSecret: string;
  /** The read-only key with its last checksum character changed. */
  readonly badChecksum: string;
  /** A read-only key with its own rate of 1 per hour, already used once. */
  readonly rateLimited: string;
  /** Signed keys (`orks_…`), issued by the KeyManager with the current signing key. */
  readonly signed: SignedContractKeys;
}

/** The signed keys of the table: issued ones in each state, and attacks made by hand. */
export interface SignedContractKeys {
  readonly readOnly: string;
  readonly readWrite: string;
  readonly admin: string;
  readonly revoked: string;
  /** Expires at the very instant the table runs at. */
  readonly expired: string;
  /** Expires one second after the instant the table runs at. */
  readonly expiresNextSecond: string;
  /** Signed by the previous signing key, which the JWKS still publishes. */
  readonly previousSigningKey: string;
  /** A valid `orks_test_` key; the contract authenticator accepts `live` keys only. */
  readonly otherEnvironment: string;
  readonly storeFails: string;
  /** A read-only signed key with its own rate of 1 per hour, already used once. */
  readonly rateLimited: string;
  /** Recorded in the store, `nbf` exactly now: valid from this instant. */
  readonly validFromNow: string;
  /** Recorded in the store, `nbf` one second after now. */
  readonly notYetValid: string;
  /** `alg: none` and no signature. */
  readonly algNone: string;
  /** HS256, the HMAC keyed with the signing key's public key (PEM): algorithm confusion. */
  readonly algorithmConfusion: string;
  /** Signed by a key the JWKS does not have, under a `kid` it does not name. */
  readonly unknownKid: string;
  /** The read-only key with `scope: admin` in its claims, its signature kept. */
  readonly tamperedPayload: string;
  readonly wrongIssuer: string;
  readonly wrongAudience: string;
  /** The admin key's prefix on the read-only key's JWS. */
  readonly swappedPrefix: string;
  /** A real signed key longer than the Authorization header may be. */
  readonly oversized: string;
}

/** A client address (sent as X-Forwarded-For through the trusted proxy) already over its failed attempts. */
export const THROTTLED_ADDRESS = '203.0.113.50';
/** The read-write scope's default rate in the contract authenticator. */
export const READ_WRITE_RATE = { limit: 1_000, windowSeconds: 60 } as const;

export interface CapturedOutput {
  /**
   * Every hook call, in order: `authenticated <keyId>`, `rejected <code> <keyId or ->` (then
   * `proven <keyId>` when the event carries the proven key),
   * `error <operation> <keyId or ->`, `insecure <keyId>`.
   */
  readonly events: string[];
  /** The key ids of each last-used batch the store was given. */
  readonly lastUsed: string[][];
  readonly authenticated: AuthenticatedEvent[];
  readonly rejected: RejectedEvent[];
  readonly errors: { error: unknown; context: ErrorContext }[];
  /** Valid keys seen over plain HTTP. */
  readonly insecure: InsecureKeyEvent[];
}

export interface ContractFixture {
  readonly keys: ContractKeys;
  readonly captured: CapturedOutput;
  readonly authenticator: Authenticator;
  /** Every plaintext a response, header or log must never contain. */
  readonly secrets: readonly string[];
  /** The issuer's signing keys, whose JWKS the contract authenticator verifies against. */
  readonly signing: SigningKeys;
  /** The store every key of the table is in. */
  readonly store: KeyLookup;
}

export const SIGNED_ISSUER = 'https://keys.orkesta.test';
export const SIGNED_AUDIENCE = 'https://api.orkesta.test';
const CURRENT_SIGNING_KEY = generateSigningKey({ kid: 'contract-2026-11' });
const PREVIOUS_SIGNING_KEY = generateSigningKey({ kid: 'contract-2026-05' });

/** Issues a key for the table's workspace, through `by` (the fixture's manager by default). */
type Issue = (
  scope: 'read-only' | 'read-write' | 'admin',
  extra?: {
    expiresAt?: number;
    environment?: 'live' | 'test';
    rateLimit?: { limit: number; windowSeconds: number };
    kind?: 'opaque' | 'signed';
  },
  by?: KeyManager,
) => Promise<string>;

/** A store whose lookups fail for the ids in `failing`, as a dead database would. */
class FaultyStore extends MemoryKeyStore {
  readonly failing = new Set<string>();
  /** The key ids of every last-used batch written, in order. */
  readonly lastUsedBatches: string[][] = [];
  override async findById(id: string) {
    if (this.failing.has(id)) throw new Error(`connection refused while reading ${id}`);
    return super.findById(id);
  }
  override async recordLastUsed(batch: ReadonlyMap<string, Date>) {
    this.lastUsedBatches.push([...batch.keys()]);
    return super.recordLastUsed(batch);
  }
}

/**
 * The table's keys, store and authenticator. `hooks`, when given, hear every event besides the
 * fixture's own (the two combined with `combineHooks`), as an application's telemetry would.
 */
export async function createContractFixture(hooks?: AuthHooks): Promise<ContractFixture> {
  let now = T0;
  const clock = () => now;
  const store = new FaultyStore();
  const changeFeed = createLocalChangeFeed();
  const signing = createSigningKeys({
    issuer: SIGNED_ISSUER,
    audience: SIGNED_AUDIENCE,
    keys: [
      { kid: CURRENT_SIGNING_KEY.kid, privateKey: CURRENT_SIGNING_KEY.privateKey },
      { kid: PREVIOUS_SIGNING_KEY.kid, publicKey: PREVIOUS_SIGNING_KEY.publicKey },
    ],
  });
  const manager = createKeyManager({ store, changeFeed, now: clock, signing });
  const issue: Issue = async (scope, extra = {}, by = manager) =>
    (
      await by.create({
        workspaceId: WORKSPACE,
        name: `contract-${extra.kind ?? 'opaque'}-${scope}`,
        scope,
        ...extra,
      })
    ).key;

  const readOnly = await issue('read-only');
  const revoked = await issue('read-only');
  await manager.revoke(revoked.split('_')[2]!);
  const expired = await issue('admin', { expiresAt: T0 + 1_000 });
  const storeFails = await issue('admin');
  store.failing.add(storeFails.split('_')[2]!);
  const keys: ContractKeys = {
    readOnly,
    readWrite: await issue('read-write'),
    admin: await issue('admin'),
    revoked,
    expired,
    otherEnvironment: await issue('admin', { environment: 'test' }),
    storeFails,
    unknownId: generateApiKey('live').token,
    wrongSecret: withOtherSecret(readOnly),
    badChecksum: readOnly.slice(0, -1) + (readOnly.endsWith('0') ? '1' : '0'),
    rateLimited: await issue('read-only', { rateLimit: { limit: 1, windowSeconds: 3_600 } }),
    signed: await signedKeys(store, issue, signing),
  };
  now = T0 + 5_000;

  const captured: CapturedOutput = {
    events: [],
    lastUsed: store.lastUsedBatches,
    authenticated: [],
    rejected: [],
    errors: [],
    insecure: [],
  };
  const { events } = captured;
  const authenticator = createAuthenticator({
    store,
    changeFeed,
    signedKeys: { issuer: SIGNED_ISSUER, audience: SIGNED_AUDIENCE, jwks: signing.jwks() },
    environments: ['live'],
    realm: REALM,
    now: clock,
    unavailableRetryAfterSeconds: 7,
    rateLimit: { scopes: { 'read-write': READ_WRITE_RATE } },
    // Room for the table's own failures from loopback; the throttled address has used it all.
    failedAttempts: { limit: 100, windowSeconds: 600 },
    hooks: combineHooks(
      {
        onAuthenticated: (event) => {
          captured.authenticated.push(event);
          events.push(`authenticated ${event.key.keyId}`);
        },
        onRejected: (event) => {
          captured.rejected.push(event);
          // `proven`: the event carries the key (its scope, workspace), which it must only
          // after `onAuthenticated` for the same key.
          const proven = event.key === undefined ? '' : ` proven ${event.key.keyId}`;
          events.push(`rejected ${event.code} ${event.keyId ?? '-'}${proven}`);
        },
        onError: (error, context) => {
          captured.errors.push({ error, context });
          events.push(`error ${context.operation} ${context.keyId ?? '-'}`);
        },
        onInsecureKey: (event) => {
          captured.insecure.push(event);
          events.push(`insecure ${event.keyId}`);
        },
      },
      hooks,
    ),
  });
  // The rate-limited keys have used their one request; the throttled address all its failures.
  await authenticator.authenticate({ authorization: `Bearer ${keys.rateLimited}`, secure: true });
  await authenticator.authenticate({
    authorization: `Bearer ${keys.signed.rateLimited}`,
    secure: true,
  });
  for (let i = 0; i < 100; i++) {
    await authenticator.authenticate({
      authorization: `Bearer ${keys.badChecksum}`,
      secure: true,
      ip: THROTTLED_ADDRESS,
    });
  }
  // The read-only key is verified once, so that it is remembered whichever row runs first.
  await authenticator.authenticate({ authorization: `Bearer ${keys.readOnly}`, secure: true });
  await authenticator.flushLastUsed();
  for (const list of [
    captured.events,
    captured.lastUsed,
    captured.authenticated,
    captured.rejected,
  ]) {
    list.length = 0;
  }
  const { signed, ...opaque } = keys;
  const secrets = [
    ...Object.values(opaque).flatMap((key: string) => [key, key.slice(22, 54)]),
    // A signed key's secret part is its signature (none at all for `alg: none`).
    ...Object.values(signed).flatMap((key: string) => {
      const signature = key.split('.').at(-1) ?? '';
      return signature.length > 0 ? [key, signature] : [key];
    }),
  ];
  return { keys, captured, authenticator, secrets, signing, store };
}

/**
 * The signed keys of the table. Issued ones come from a KeyManager on the current signing key
 * (and one on the previous key); the attacks are made by hand with jose, as an attacker would.
 */
async function signedKeys(
  store: FaultyStore,
  issueAny: Issue,
  signing: SigningKeys,
): Promise<SignedContractKeys> {
  const issue: Issue = (scope, extra = {}, by) => issueAny(scope, { ...extra, kind: 'signed' }, by);
  const tableNow = T0 + 5_000;
  const previousIssuer = createKeyManager({
    store,
    now: () => T0,
    signing: {
      issuer: signing.issuer,
      audience: signing.audience,
      keys: [{ kid: PREVIOUS_SIGNING_KEY.kid, privateKey: PREVIOUS_SIGNING_KEY.privateKey }],
    },
  });
  const readOnly = await issue('read-only');
  const admin = await issue('admin');
  const revoked = await issue('read-only');
  await store.update(revoked.slice(10, 22), { revokedAt: new Date(T0 + 1) });
  const storeFails = await issue('admin');
  store.failing.add(storeFails.slice(10, 22));

  const currentKey = createPrivateKey({ key: CURRENT_SIGNING_KEY.privateKey, format: 'jwk' });
  const header = { alg: 'EdDSA', kid: CURRENT_SIGNING_KEY.kid, typ: SIGNED_KEY_TYPE };
  const claims = (id: string, extra: Record<string, unknown> = {}) => ({
    iss: SIGNED_ISSUER,
    aud: SIGNED_AUDIENCE,
    jti: id,
    workspace: WORKSPACE,
    scope: 'read-only',
    env: 'live',
    iat: T0 / 1000,
    ...extra,
  });
  const sign = async (
    id: string,
    extra: Record<string, unknown> = {},
    options: { header?: Record<string, unknown>; key?: Parameters<SignJWT['sign']>[0] } = {},
  ) =>
    `orks_live_${id}_${await new SignJWT(claims(id, extra))
      .setProtectedHeader((options.header ?? header) as { alg: string })
      .sign(options.key ?? currentKey)}`;
  /** Records a hand-made key in the store, as if it had been issued. */
  const recorded = async (token: string) => {
    await store.insert({
      id: token.slice(10, 22),
      workspaceId: WORKSPACE,
      name: 'contract-crafted',
      scope: 'read-only',
      environment: 'live',
      hash: new KeyHasher().hashSignedKey(token),
      createdAt: new Date(T0),
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      rotatedFromId: null,
    });
    return token;
  };
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const stranger = generateSigningKey({ kid: 'contract-unknown' });
  const readOnlyId = readOnly.slice(10, 22);
  const [, , readOnlySignature] = readOnly.split('.');
  const publicPem = createPublicKey({ key: CURRENT_SIGNING_KEY.publicKey, format: 'jwk' })
    .export({ format: 'pem', type: 'spki' })
    .toString();

  return {
    readOnly,
    readWrite: await issue('read-write'),
    admin,
    revoked,
    expired: await issue('admin', { expiresAt: tableNow }),
    expiresNextSecond: await issue('admin', { expiresAt: tableNow + 1_000 }),
    previousSigningKey: await issue('read-only', {}, previousIssuer),
    otherEnvironment: await issue('admin', { environment: 'test' }),
    storeFails,
    rateLimited: await issue('read-only', { rateLimit: { limit: 1, windowSeconds: 3_600 } }),
    validFromNow: await recorded(await sign('Va1idFromNow', { nbf: tableNow / 1000 })),
    notYetValid: await recorded(await sign('NotYetVa1id0', { nbf: tableNow / 1000 + 1 })),
    algNone: `orks_live_${readOnlyId}_${part({ ...header, alg: 'none' })}.${part(claims(readOnlyId))}.`,
    algorithmConfusion: await sign(
      readOnlyId,
      {},
      {
        header: { ...header, alg: 'HS256' },
        key: Buffer.from(publicPem),
      },
    ),
    unknownKid: await sign(
      readOnlyId,
      {},
      {
        header: { ...header, kid: stranger.kid },
        key: createPrivateKey({ key: stranger.privateKey, format: 'jwk' }),
      },
    ),
    tamperedPayload: `${readOnly.split('.')[0]}.${part({ ...claims(readOnlyId), scope: 'admin' })}.${readOnlySignature}`,
    wrongIssuer: await sign(readOnlyId, { iss: 'https://keys.evil.test' }),
    wrongAudience: await sign(readOnlyId, { aud: 'https://other-api.orkesta.test' }),
    swappedPrefix: `${admin.slice(0, 23)}${readOnly.slice(23)}`,
    oversized: await sign('Oversized000', { padding: 'x'.repeat(800) }),
  };
}

/** Same id, another secret, a checksum that matches: passes the format step, fails the hash. */
function withOtherSecret(token: string): string {
  const body = token.slice(0, 22) + generateApiKey('live').token.slice(22, KEY_LENGTH - 6);
  return body + keyChecksum(body);
}
