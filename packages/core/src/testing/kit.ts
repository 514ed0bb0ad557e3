/** What every part of the conformance kit shares: the harness, sample records, small helpers. */
import { expect } from 'vitest';
import type { AuthResult } from '../auth-request.js';
import { KeyManagementError } from '../errors.js';
import { KeyHasher } from '../hashing.js';
import { generateApiKey, type KeyEnvironment } from '../key-format.js';
import type { SignedKeyOptions } from '../signed-verifier.js';
import { createSigningKeys, generateSigningKey, type SigningKeys } from '../signing.js';
import type { ApiKeyRecord, KeyStore } from '../store-types.js';

export interface KeyStoreHarness<S extends KeyStore = KeyStore> {
  /** A new, empty store: its own file, schema or key prefix. Called before every test. */
  create(): S | Promise<S>;
  /** Releases what `create` made: pools, connections, files. */
  close?(store: S): void | Promise<void>;
  /**
   * A second handle on the data of `store`, as another process or instance would open it.
   * Given this, the kit checks that changes published through one handle's `changes` feed reach
   * the other's subscribers within `feedDeliveryMs`, and that writes through one are read by
   * the other. The kit closes it with `close`.
   */
  reopen?(store: S): S | Promise<S>;
  /** How long a change may take to reach another handle's subscribers. Default 1000 ms. */
  readonly feedDeliveryMs?: number;
}

export const T0 = Date.UTC(2026, 0, 1);
const hasher = new KeyHasher();

/** A complete record with a real id and hash; fields may be overridden. */
export function sampleKeyRecord(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const environment: KeyEnvironment = overrides.environment ?? 'live';
  const generated = generateApiKey(environment);
  return {
    id: generated.id,
    workspaceId: 'ws_kit',
    name: 'kit-key',
    scope: 'read-write',
    environment,
    hash: hasher.hash(generated.token),
    createdAt: new Date(T0),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
    ...overrides,
  };
}

/**
 * A record as the kit compares it: `rateLimit: null`, which the record type allows, is no rate
 * of its own, the same as an absent `rateLimit`; a store may return either.
 */
export function comparable(
  record: Partial<ApiKeyRecord> | null | undefined,
): Partial<ApiKeyRecord> | null | undefined {
  if (record === null || record === undefined || record.rateLimit != null) return record;
  const { rateLimit: _none, ...rest } = record;
  return rest;
}

/** Signing keys for the kit's signed keys, and the authenticator options that accept them. */
export function kitSigning(): { signing: SigningKeys; signedKeys: SignedKeyOptions } {
  const { kid, privateKey } = generateSigningKey({ kid: 'kit' });
  const signing = createSigningKeys({
    issuer: 'https://issuer.kit.example',
    audience: 'https://api.kit.example',
    keys: [{ kid, privateKey }],
  });
  return {
    signing,
    signedKeys: { issuer: signing.issuer, audience: signing.audience, jwks: signing.jwks() },
  };
}

export function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KeyManagementError);
    return (error as KeyManagementError).code;
  }
  return 'resolved';
}

export function waitFor<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What a part of the kit gets from `describeKeyStore`. */
export interface Kit<S extends KeyStore> {
  /** The store of the running test, made by `harness.create()` before it. */
  readonly store: S;
  /** A second handle on the store's data (`harness.reopen`), closed after the test. */
  secondHandle(): Promise<S>;
  readonly harness: KeyStoreHarness<S>;
  readonly feedDeliveryMs: number;
}
