import { crc32 } from 'node:zlib';
import { expect } from 'vitest';
import type { AuthRequest, KeyLookup, StoredKey } from '../src/index.js';
import { KeyManagementError } from '../src/index.js';

/** A fixed instant far from 0 (lru-cache treats a start time of 0 as "no TTL"). */
export const T0 = Date.UTC(2026, 0, 1);

/** The base62 alphabet, written out independently of the source. */
export const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface FakeClock {
  readonly now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

/** An injectable clock, in epoch milliseconds. */
export function fakeClock(start: number = T0): FakeClock {
  let t = start;
  return {
    now: () => t,
    set(ms) {
      t = ms;
    },
    advance(ms) {
      t += ms;
    },
  };
}

/** A request over HTTPS carrying `Authorization: Bearer <token>`. */
export function bearer(token: string, extra: Partial<AuthRequest> = {}): AuthRequest {
  return { authorization: `Bearer ${token}`, secure: true, ...extra };
}

/** Wraps a lookup and records the id of every `findById` call. */
export function countingLookup(inner: KeyLookup): { lookup: KeyLookup; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    lookup: {
      findById(id) {
        calls.push(id);
        return inner.findById(id);
      },
    },
  };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The checksum a key body should carry, computed independently: CRC-32 → 6 base62 digits. */
export function expectedChecksum(body: string): string {
  let n = BigInt(crc32(body));
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

/** `body` followed by its correct checksum. */
export function withChecksum(body: string): string {
  return body + expectedChecksum(body);
}

/** A different base62 character than `c`. */
export function otherBase62(c: string): string {
  return c === 'A' ? 'B' : 'A';
}

/**
 * The same key id with one character of the secret changed and a correct checksum: well-formed,
 * names the same key, but is not its secret.
 */
export function wrongSecret(token: string): string {
  const at = 30;
  const body = token.slice(0, 54);
  return withChecksum(body.slice(0, at) + otherBase62(body[at]!) + body.slice(at + 1));
}

/** A minimal stored record for custom lookups. */
export function storedKey(overrides: Partial<Record<keyof StoredKey, unknown>> = {}): StoredKey {
  return {
    id: 'AAAAAAAAAAAA',
    workspaceId: 'ws_1',
    scope: 'read-write',
    hash: `sha256$${Buffer.alloc(32).toString('base64url')}`,
    ...overrides,
  } as StoredKey;
}

/** The `KeyManagementError` that `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<KeyManagementError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KeyManagementError);
    return error as KeyManagementError;
  }
  throw new Error('expected a KeyManagementError');
}
