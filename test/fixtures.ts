import type {
  AuthenticatedEvent,
  Authenticator,
  ErrorContext,
  InsecureKeyEvent,
  RejectedEvent,
} from '@orkesta/auth';
import {
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  generateApiKey,
  KEY_LENGTH,
  keyChecksum,
  MemoryKeyStore,
} from '@orkesta/auth';

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
}

/** A client address (sent as X-Forwarded-For through the trusted proxy) already over its failed attempts. */
export const THROTTLED_ADDRESS = '203.0.113.50';
/** The read-write scope's default rate in the contract authenticator. */
export const READ_WRITE_RATE = { limit: 1_000, windowSeconds: 60 } as const;

export interface CapturedOutput {
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
}

/** A store whose lookups fail for the ids in `failing`, as a dead database would. */
class FaultyStore extends MemoryKeyStore {
  readonly failing = new Set<string>();
  override async findById(id: string) {
    if (this.failing.has(id)) throw new Error(`connection refused while reading ${id}`);
    return super.findById(id);
  }
}

export async function createContractFixture(): Promise<ContractFixture> {
  let now = T0;
  const clock = () => now;
  const store = new FaultyStore();
  const changeFeed = createLocalChangeFeed();
  const manager = createKeyManager({ store, changeFeed, now: clock });
  const issue = async (
    scope: 'read-only' | 'read-write' | 'admin',
    extra: {
      expiresAt?: number;
      environment?: 'live' | 'test';
      rateLimit?: { limit: number; windowSeconds: number };
    } = {},
  ) =>
    (await manager.create({ workspaceId: WORKSPACE, name: `contract-${scope}`, scope, ...extra }))
      .key;

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
  };
  now = T0 + 5_000;

  const captured: CapturedOutput = { authenticated: [], rejected: [], errors: [], insecure: [] };
  const authenticator = createAuthenticator({
    store,
    changeFeed,
    environments: ['live'],
    realm: REALM,
    now: clock,
    unavailableRetryAfterSeconds: 7,
    rateLimit: { scopes: { 'read-write': READ_WRITE_RATE } },
    // Room for the table's own failures from loopback; the throttled address has used it all.
    failedAttempts: { limit: 100, windowSeconds: 600 },
    hooks: {
      onAuthenticated: (event) => captured.authenticated.push(event),
      onRejected: (event) => captured.rejected.push(event),
      onError: (error, context) => captured.errors.push({ error, context }),
      onInsecureKey: (event) => captured.insecure.push(event),
    },
  });
  // The rate-limited key has used its one request; the throttled address all its failures.
  await authenticator.authenticate({ authorization: `Bearer ${keys.rateLimited}`, secure: true });
  for (let i = 0; i < 100; i++) {
    await authenticator.authenticate({
      authorization: `Bearer ${keys.badChecksum}`,
      secure: true,
      ip: THROTTLED_ADDRESS,
    });
  }
  captured.authenticated.length = 0;
  captured.rejected.length = 0;
  const secrets = Object.values(keys).flatMap((key: string) => [key, key.slice(22, 54)]);
  return { keys, captured, authenticator, secrets };
}

/** Same id, another secret, a checksum that matches: passes the format step, fails the hash. */
function withOtherSecret(token: string): string {
  const body = token.slice(0, 22) + generateApiKey('live').token.slice(22, KEY_LENGTH - 6);
  return body + keyChecksum(body);
}
