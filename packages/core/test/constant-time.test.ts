import { timingSafeEqual } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createAuthenticator,
  createKeyManager,
  KEY_LENGTH,
  KeyHasher,
  MemoryKeyStore,
} from '../src/index.js';
import { bearer, withChecksum } from './helpers.js';

// Every comparison of something secret must go through crypto.timingSafeEqual: wrap it to see
// each call, its operands' sizes and its answer.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const compare = vi.mocked(timingSafeEqual);

/** Each call as [length of a, length of b, answer]. */
function comparisons(): [number, number, boolean][] {
  return compare.mock.calls.map(([a, b], i) => [
    (a as Buffer).length,
    (b as Buffer).length,
    compare.mock.results[i]!.value as boolean,
  ]);
}

/** The same id, the secret changed at `at` (0 to 31), and a checksum that matches. */
function secretChangedAt(token: string, at: number): string {
  const i = 22 + at;
  const body = token.slice(0, 54);
  return withChecksum(body.slice(0, i) + (body[i] === 'A' ? 'B' : 'A') + body.slice(i + 1));
}

async function setup(pepper?: { id: string; secret: string }) {
  const store = new MemoryKeyStore();
  const hashing = pepper === undefined ? {} : { pepper };
  const manager = createKeyManager({ store, hashing });
  const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'read-only' });
  const auth = createAuthenticator({ store, hashing, lastUsed: false, failedAttempts: false });
  return { auth, key: issued.key };
}

beforeEach(() => {
  compare.mockClear();
});

describe('constant-time comparison', () => {
  it.each([
    ['SHA-256', undefined],
    ['HMAC-SHA-256 with a pepper', { id: 'p1', secret: 'a-pepper-of-at-least-16-bytes' }],
  ])(
    'a wrong secret for a known id is refused by timingSafeEqual on two 32-byte %s digests',
    async (_, pepper) => {
      const { auth, key } = await setup(pepper);
      for (const at of [0, 31]) {
        compare.mockClear();
        const result = await auth.authenticate(bearer(secretChangedAt(key, at)));
        expect(result.ok ? 'ok' : result.error.code).toBe('invalid_api_key');
        expect(comparisons()).toEqual([[32, 32, false]]);
      }
    },
  );

  it('the right key is admitted by timingSafeEqual on the digests, then on the remembered token', async () => {
    const { auth, key } = await setup();
    expect((await auth.authenticate(bearer(key))).ok).toBe(true);
    expect(comparisons()).toEqual([[32, 32, true]]);
    compare.mockClear();
    expect((await auth.authenticate(bearer(key))).ok).toBe(true);
    expect(comparisons()).toEqual([[KEY_LENGTH, KEY_LENGTH, true]]);
  });

  it('once a key is cached, a wrong secret is compared with the remembered token, then with the digest', async () => {
    const { auth, key } = await setup();
    await auth.authenticate(bearer(key));
    for (const at of [0, 15, 31]) {
      compare.mockClear();
      const result = await auth.authenticate(bearer(secretChangedAt(key, at)));
      expect(result.ok).toBe(false);
      expect(comparisons()).toEqual([
        [KEY_LENGTH, KEY_LENGTH, false],
        [32, 32, false],
      ]);
    }
  });

  it('KeyHasher.verify compares digests with timingSafeEqual only', () => {
    const hasher = new KeyHasher();
    const token = withChecksum(`ork_live_${'A'.repeat(12)}_${'B'.repeat(32)}`);
    const stored = hasher.decode(hasher.hash(token))!;
    expect(hasher.verify(token, stored)).toBe(true);
    expect(hasher.verify(secretChangedAt(token, 31), stored)).toBe(false);
    expect(comparisons()).toEqual([
      [32, 32, true],
      [32, 32, false],
    ]);
  });
});
