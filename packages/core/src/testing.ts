/**
 * `@orkesta/auth/testing`: the conformance kit for key stores. A store that passes it works
 * with every authenticator and key manager. Call it inside a vitest suite:
 *
 *     import { describeKeyStore } from '@orkesta/auth/testing';
 *     describeKeyStore('my store', { create: () => new MyStore(), close: (s) => s.close() });
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuthResult, createAuthenticator } from './authenticator.js';
import { KeyManagementError } from './errors.js';
import { KeyHasher } from './hashing.js';
import { generateApiKey, type KeyEnvironment } from './key-format.js';
import { createKeyManager } from './key-manager.js';
import type { Scope } from './scopes.js';
import type { SignedKeyOptions } from './signed-verifier.js';
import { createSigningKeys, generateSigningKey, type SigningKeys } from './signing.js';
import type { ApiKeyRecord, KeyStatus, KeyStore } from './store.js';

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

const T0 = Date.UTC(2026, 0, 1);
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

/** Signing keys for the kit's signed keys, and the authenticator options that accept them. */
function kitSigning(): { signing: SigningKeys; signedKeys: SignedKeyOptions } {
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

function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KeyManagementError);
    return (error as KeyManagementError).code;
  }
  return 'resolved';
}

function waitFor<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Registers the conformance suite for a key store under `describe(name)`: create, find, list
 * by workspace with paging and status, revoke, rotate, expiry, last-used batches, concurrent
 * writers, refusal of duplicate ids, and (given `reopen`) changes seen across handles.
 */
export function describeKeyStore<S extends KeyStore>(name: string, harness: KeyStoreHarness<S>) {
  const feedDeliveryMs = harness.feedDeliveryMs ?? 1_000;

  describe(`key store conformance: ${name}`, () => {
    let store: S;
    const opened: S[] = [];

    beforeEach(async () => {
      store = await harness.create();
      opened.push(store);
    });
    afterEach(async () => {
      // Second handles first: they may share what the first one owns.
      for (const handle of opened.splice(0).reverse()) await harness.close?.(handle);
    });

    async function secondHandle(): Promise<S> {
      if (harness.reopen === undefined) throw new Error('the harness has no reopen()');
      const other = await harness.reopen(store);
      opened.push(other);
      return other;
    }

    describe('insert and findById', () => {
      it('returns every field as inserted, with dates as Date', async () => {
        const record = sampleKeyRecord({
          name: 'production-erp-integration',
          scope: 'admin',
          environment: 'test',
          createdAt: new Date(T0 + 1),
          expiresAt: new Date(T0 + 86_400_000),
          revokedAt: new Date(T0 + 3_600_000),
          lastUsedAt: new Date(T0 + 60_000),
          rotatedFromId: 'AAAAAAAAAAAA',
        });
        await store.insert(record);
        const found = await store.findById(record.id);
        expect(found).toEqual(record);
        expect(found?.createdAt).toBeInstanceOf(Date);
        expect(found?.expiresAt).toBeInstanceOf(Date);
      });

      it("keeps a key's own rate limit, and treats none as none", async () => {
        const limited = sampleKeyRecord({
          rateLimit: { limit: 100, windowSeconds: 60, burst: 10 },
        });
        const plain = sampleKeyRecord();
        await store.insert(limited);
        await store.insert(plain);
        expect((await store.findById(limited.id))?.rateLimit).toEqual({
          limit: 100,
          windowSeconds: 60,
          burst: 10,
        });
        expect((await store.findById(plain.id))?.rateLimit ?? null).toBeNull();
      });

      it('keeps nulls as null', async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        const found = await store.findById(record.id);
        expect(found).toEqual(record);
        expect(found?.expiresAt).toBeNull();
        expect(found?.revokedAt).toBeNull();
        expect(found?.lastUsedAt).toBeNull();
        expect(found?.rotatedFromId).toBeNull();
      });

      it('answers an unknown id with null or undefined, not an error', async () => {
        await store.insert(sampleKeyRecord());
        expect(await store.findById('000000000000')).toBeFalsy();
        expect(await store.findById('')).toBeFalsy();
      });

      it('ids are case-sensitive', async () => {
        const record = sampleKeyRecord({ id: 'abcdefABCDEF' });
        await store.insert(record);
        expect(await store.findById('ABCDEFabcdef')).toBeFalsy();
        expect(await store.findById('abcdefabcdef')).toBeFalsy();
        expect((await store.findById('abcdefABCDEF'))?.id).toBe('abcdefABCDEF');
      });

      it('what a caller does to a returned record does not change the store', async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        const found = (await store.findById(record.id)) as {
          -readonly [K in keyof ApiKeyRecord]: ApiKeyRecord[K];
        };
        found.scope = 'admin';
        found.createdAt.setTime(0);
        expect(await store.findById(record.id)).toEqual(record);
      });
    });

    describe('duplicate ids', () => {
      it('refuses a second insert of an id with duplicate_key_id and keeps the first', async () => {
        const first = sampleKeyRecord({ name: 'first' });
        await store.insert(first);
        const code = await rejectionCode(
          store.insert({ ...first, name: 'second', scope: 'admin' }),
        );
        expect(code).toBe('duplicate_key_id');
        expect(await store.findById(first.id)).toEqual(first);
      });

      it('of 20 concurrent inserts of one id exactly one wins', async () => {
        const id = sampleKeyRecord().id;
        const attempts = Array.from({ length: 20 }, (_, i) =>
          store.insert(sampleKeyRecord({ id, name: `attempt-${i}` })).then(
            () => 'ok',
            (error: unknown) =>
              error instanceof KeyManagementError ? error.code : `unexpected: ${String(error)}`,
          ),
        );
        const outcomes = await Promise.all(attempts);
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'duplicate_key_id')).toHaveLength(19);
        const winner = outcomes.indexOf('ok');
        expect((await store.findById(id))?.name).toBe(`attempt-${winner}`);
      });
    });

    describe('concurrent writers', () => {
      it('100 concurrent inserts of distinct keys all land', async () => {
        const records = Array.from({ length: 100 }, (_, i) =>
          sampleKeyRecord({ createdAt: new Date(T0 + i) }),
        );
        await Promise.all(records.map((r) => store.insert(r)));
        const page = await store.list({ workspaceId: 'ws_kit', now: new Date(T0), limit: 1000 });
        expect(page.items.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
      });

      it('concurrent revokes, expiry changes and last-used writes on one key all take effect', async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        await Promise.all([
          store.update(record.id, { revokedAt: new Date(T0 + 10) }),
          store.update(record.id, { expiresAt: new Date(T0 + 20) }),
          store.recordLastUsed(new Map([[record.id, new Date(T0 + 30)]])),
        ]);
        expect(await store.findById(record.id)).toEqual({
          ...record,
          revokedAt: new Date(T0 + 10),
          expiresAt: new Date(T0 + 20),
          lastUsedAt: new Date(T0 + 30),
        });
      });

      if (harness.reopen !== undefined) {
        it('two handles writing at once both land, and each reads the other', async () => {
          const other = await secondHandle();
          const mine = Array.from({ length: 25 }, () => sampleKeyRecord());
          const theirs = Array.from({ length: 25 }, () => sampleKeyRecord());
          await Promise.all([
            ...mine.map((r) => store.insert(r)),
            ...theirs.map((r) => other.insert(r)),
          ]);
          for (const r of theirs) expect((await store.findById(r.id))?.id).toBe(r.id);
          for (const r of mine) expect((await other.findById(r.id))?.id).toBe(r.id);
        });
      }
    });

    describe('list', () => {
      const now = new Date(T0 + 1_000_000);

      async function seed(): Promise<ApiKeyRecord[]> {
        const records = [
          // Two share a creation instant: the order between them must still be stable.
          sampleKeyRecord({ workspaceId: 'ws_a', createdAt: new Date(T0 + 5) }),
          sampleKeyRecord({ workspaceId: 'ws_a', createdAt: new Date(T0 + 5) }),
          sampleKeyRecord({ workspaceId: 'ws_a', createdAt: new Date(T0 + 1) }),
          sampleKeyRecord({
            workspaceId: 'ws_a',
            createdAt: new Date(T0 + 3),
            revokedAt: new Date(T0 + 4),
          }),
          sampleKeyRecord({
            workspaceId: 'ws_a',
            createdAt: new Date(T0 + 4),
            expiresAt: new Date(now),
          }),
          sampleKeyRecord({ workspaceId: 'ws_a', createdAt: new Date(T0 + 2) }),
          sampleKeyRecord({ workspaceId: 'ws_b', createdAt: new Date(T0 + 9) }),
        ];
        for (const r of records) await store.insert(r);
        return records;
      }

      function newestFirst(records: ApiKeyRecord[]): string[] {
        return [...records]
          .sort(
            (a, b) =>
              b.createdAt.getTime() - a.createdAt.getTime() ||
              (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
          )
          .map((r) => r.id);
      }

      it('lists one workspace newest first, ties broken by id', async () => {
        const records = await seed();
        const page = await store.list({ workspaceId: 'ws_a', now, limit: 100 });
        expect(page.items.map((r) => r.id)).toEqual(
          newestFirst(records.filter((r) => r.workspaceId === 'ws_a')),
        );
        expect(page.nextCursor).toBeUndefined();
        expect(page.items[0]).toEqual(records.find((r) => r.id === page.items[0]?.id));
      });

      it('lists every workspace when none is given', async () => {
        const records = await seed();
        const page = await store.list({ now, limit: 100 });
        expect(page.items.map((r) => r.id)).toEqual(newestFirst(records));
      });

      it('pages through with cursors: no item twice, none skipped, no cursor after the last', async () => {
        const records = await seed();
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ workspaceId: 'ws_a', now, limit: 2, cursor });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((r) => r.id));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined && pages < 10);
        expect(seen).toEqual(newestFirst(records.filter((r) => r.workspaceId === 'ws_a')));
        expect(pages).toBe(3);
      });

      it('a page that ends exactly at the last item has no cursor', async () => {
        await seed();
        const page = await store.list({ workspaceId: 'ws_b', now, limit: 1 });
        expect(page.items).toHaveLength(1);
        expect(page.nextCursor).toBeUndefined();
      });

      it('a cursor keeps its place when newer keys are inserted between pages', async () => {
        const records = await seed();
        const first = await store.list({ workspaceId: 'ws_a', now, limit: 3 });
        await store.insert(sampleKeyRecord({ workspaceId: 'ws_a', createdAt: new Date(T0 + 99) }));
        const rest = await store.list({
          workspaceId: 'ws_a',
          now,
          limit: 100,
          cursor: first.nextCursor,
        });
        expect([...first.items, ...rest.items].map((r) => r.id)).toEqual(
          newestFirst(records.filter((r) => r.workspaceId === 'ws_a')),
        );
      });

      it.each<[KeyStatus, (r: ApiKeyRecord) => boolean]>([
        ['active', (r) => r.revokedAt === null && (r.expiresAt === null || r.expiresAt > now)],
        ['revoked', (r) => r.revokedAt !== null],
        ['expired', (r) => r.revokedAt === null && r.expiresAt !== null && r.expiresAt <= now],
      ])(
        'filters by status %s, judged at `now` (expiry at now counts as expired)',
        async (status, keep) => {
          const records = await seed();
          const page = await store.list({ workspaceId: 'ws_a', status, now, limit: 100 });
          const expected = newestFirst(records.filter((r) => r.workspaceId === 'ws_a' && keep(r)));
          expect(expected.length).toBeGreaterThan(0);
          expect(page.items.map((r) => r.id)).toEqual(expected);
        },
      );

      it('a key revoked and expired lists as revoked', async () => {
        const record = sampleKeyRecord({
          revokedAt: new Date(T0 + 1),
          expiresAt: new Date(T0 + 2),
        });
        await store.insert(record);
        expect((await store.list({ status: 'revoked', now, limit: 10 })).items).toHaveLength(1);
        expect((await store.list({ status: 'expired', now, limit: 10 })).items).toHaveLength(0);
      });

      it('pages by status too', async () => {
        const records = Array.from({ length: 5 }, (_, i) =>
          sampleKeyRecord({ createdAt: new Date(T0 + i), revokedAt: new Date(T0 + 100) }),
        );
        for (const r of records) await store.insert(r);
        await store.insert(sampleKeyRecord({ createdAt: new Date(T0 + 2) }));
        const first = await store.list({ status: 'revoked', now, limit: 3 });
        const second = await store.list({
          status: 'revoked',
          now,
          limit: 3,
          cursor: first.nextCursor,
        });
        expect([...first.items, ...second.items].map((r) => r.id)).toEqual(newestFirst(records));
        expect(second.nextCursor).toBeUndefined();
      });

      it('refuses a cursor it did not make with invalid_key_parameters', async () => {
        await seed();
        expect(await rejectionCode(store.list({ now, limit: 2, cursor: 'not a cursor' }))).toBe(
          'invalid_key_parameters',
        );
      });

      it('an empty store lists nothing', async () => {
        const page = await store.list({ workspaceId: 'ws_none', now, limit: 10 });
        expect(page.items).toEqual([]);
        expect(page.nextCursor).toBeUndefined();
      });
    });

    describe('update: revoke and expiry', () => {
      it('revokes: sets revokedAt and returns the updated record', async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        const updated = await store.update(record.id, { revokedAt: new Date(T0 + 7) });
        expect(updated).toEqual({ ...record, revokedAt: new Date(T0 + 7) });
        expect(await store.findById(record.id)).toEqual(updated);
      });

      it('sets and clears expiresAt, leaving other fields alone', async () => {
        const record = sampleKeyRecord({ expiresAt: new Date(T0 + 50) });
        await store.insert(record);
        expect(await store.update(record.id, { expiresAt: new Date(T0 + 9) })).toEqual({
          ...record,
          expiresAt: new Date(T0 + 9),
        });
        expect(await store.update(record.id, { expiresAt: null })).toEqual({
          ...record,
          expiresAt: null,
        });
        expect(await store.findById(record.id)).toEqual({ ...record, expiresAt: null });
      });

      it("sets and clears a key's own rate limit", async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        const rate = { limit: 5, windowSeconds: 1, burst: 5 };
        const set = await store.update(record.id, { rateLimit: rate });
        expect(set?.rateLimit).toEqual(rate);
        expect((await store.findById(record.id))?.rateLimit).toEqual(rate);
        const cleared = await store.update(record.id, { rateLimit: null });
        expect(cleared?.rateLimit ?? null).toBeNull();
        expect((await store.findById(record.id))?.rateLimit ?? null).toBeNull();
        expect((await store.findById(record.id))?.revokedAt).toBeNull();
      });

      it('an empty change returns the record unchanged', async () => {
        const record = sampleKeyRecord();
        await store.insert(record);
        expect(await store.update(record.id, {})).toEqual(record);
      });

      it('answers an unknown id with undefined and creates nothing', async () => {
        expect(await store.update('000000000000', { revokedAt: new Date(T0) })).toBeUndefined();
        expect(await store.findById('000000000000')).toBeFalsy();
      });

      it('touches only the key it names', async () => {
        const [a, b] = [sampleKeyRecord(), sampleKeyRecord()];
        await store.insert(a);
        await store.insert(b);
        await store.update(a.id, { revokedAt: new Date(T0 + 1) });
        expect(await store.findById(b.id)).toEqual(b);
      });
    });

    describe('last used', () => {
      it('records a batch, moves forward only, and ignores unknown ids', async () => {
        const [a, b] = [sampleKeyRecord(), sampleKeyRecord({ lastUsedAt: new Date(T0 + 500) })];
        await store.insert(a);
        await store.insert(b);
        await store.recordLastUsed(
          new Map([
            [a.id, new Date(T0 + 100)],
            [b.id, new Date(T0 + 200)], // older than b's: ignored
            ['000000000000', new Date(T0 + 300)],
          ]),
        );
        expect((await store.findById(a.id))?.lastUsedAt).toEqual(new Date(T0 + 100));
        expect((await store.findById(b.id))?.lastUsedAt).toEqual(new Date(T0 + 500));
        expect(await store.findById('000000000000')).toBeFalsy();
        await store.recordLastUsed(new Map([[b.id, new Date(T0 + 900)]]));
        expect((await store.findById(b.id))?.lastUsedAt).toEqual(new Date(T0 + 900));
      });

      it('an empty batch is fine', async () => {
        await store.recordLastUsed(new Map());
      });

      it('a batch of 500 keys lands', async () => {
        const records = Array.from({ length: 500 }, () => sampleKeyRecord());
        for (const r of records) await store.insert(r);
        await store.recordLastUsed(new Map(records.map((r, i) => [r.id, new Date(T0 + i)])));
        const found = await store.findById(records[499]?.id ?? '');
        expect(found?.lastUsedAt).toEqual(new Date(T0 + 499));
      });
    });

    describe('through the key manager and an authenticator', () => {
      const scope: Scope = 'read-write';

      it('a created key authenticates; revoked it answers api_key_revoked', async () => {
        let now = T0;
        const clock = () => now;
        const manager = createKeyManager({ store, now: clock });
        const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
        const issued = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
        const request = { authorization: `Bearer ${issued.key}`, secure: true };
        expect(codeOf(await auth.authenticate(request))).toBe('ok');
        now += 1;
        const revoked = await manager.revoke(issued.record.id);
        expect(revoked.status).toBe('revoked');
        expect(codeOf(await auth.authenticate(request))).toBe('api_key_revoked');
        await auth.close();
      });

      it('rotation: the successor works, the old key until the overlap ends, not after', async () => {
        let now = T0;
        const clock = () => now;
        const manager = createKeyManager({ store, now: clock });
        const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
        const old = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
        now += 1_000;
        const { issued } = await manager.rotate(old.record.id, { overlapMs: 60_000 });
        expect(issued.record.rotatedFromId).toBe(old.record.id);
        expect((await store.findById(issued.record.id))?.rotatedFromId).toBe(old.record.id);
        const use = (key: string) =>
          auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
        now += 59_999;
        expect(codeOf(await use(old.key))).toBe('ok');
        expect(codeOf(await use(issued.key))).toBe('ok');
        now += 1;
        expect(codeOf(await use(old.key))).toBe('api_key_expired');
        expect(codeOf(await use(issued.key))).toBe('ok');
        await auth.close();
      });

      it('expiry: admitted until the instant before, refused at it', async () => {
        let now = T0;
        const clock = () => now;
        const manager = createKeyManager({ store, now: clock });
        const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
        const issued = await manager.create({
          workspaceId: 'ws_kit',
          name: 'erp',
          scope,
          expiresAt: T0 + 10_000,
        });
        const request = { authorization: `Bearer ${issued.key}`, secure: true };
        now = T0 + 9_999;
        expect(codeOf(await auth.authenticate(request))).toBe('ok');
        now = T0 + 10_000;
        expect(codeOf(await auth.authenticate(request))).toBe('api_key_expired');
        await auth.close();
      });

      it('a signed key: recorded and listed as signed, admitted, rotated into a signed key, revoked', async () => {
        let now = T0;
        const clock = () => now;
        const { signing, signedKeys } = kitSigning();
        const manager = createKeyManager({ store, now: clock, signing });
        const auth = createAuthenticator({
          store,
          now: clock,
          lastUsed: false,
          cache: false,
          signedKeys,
        });
        const use = (key: string) =>
          auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
        const old = await manager.create({
          workspaceId: 'ws_kit',
          name: 'edge',
          scope,
          kind: 'signed',
          expiresAt: T0 + 3_600_000,
        });
        expect((await store.findById(old.record.id))?.hash).toMatch(/^jws-sha256\$/);
        expect(codeOf(await use(old.key))).toBe('ok');
        const listed = await manager.list({ workspaceId: 'ws_kit' });
        expect(listed.items.map((key) => [key.id, key.kind])).toEqual([[old.record.id, 'signed']]);
        now += 1_000;
        const { issued } = await manager.rotate(old.record.id, { overlapMs: 0 });
        expect(issued.record.kind).toBe('signed');
        expect(codeOf(await use(old.key))).toBe('api_key_expired');
        expect(codeOf(await use(issued.key))).toBe('ok');
        await manager.revoke(issued.record.id);
        expect(codeOf(await use(issued.key))).toBe('api_key_revoked');
        await auth.close();
      });

      it('last used reaches the store in batches from the authenticator', async () => {
        const manager = createKeyManager({ store, now: () => T0 });
        const auth = createAuthenticator({ store, now: () => T0 + 5, cache: false });
        const issued = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
        await auth.authenticate({ authorization: `Bearer ${issued.key}`, secure: true });
        await auth.close(); // flushes
        expect((await store.findById(issued.record.id))?.lastUsedAt).toEqual(new Date(T0 + 5));
      });
    });

    if (harness.reopen !== undefined) {
      describe('another handle on the same data', () => {
        it('sees a revocation made through this one', async () => {
          const other = await secondHandle();
          const record = sampleKeyRecord();
          await store.insert(record);
          expect((await other.findById(record.id))?.revokedAt).toBeNull();
          await store.update(record.id, { revokedAt: new Date(T0 + 1) });
          expect((await other.findById(record.id))?.revokedAt).toEqual(new Date(T0 + 1));
        });

        it(`hears published changes through its feed within ${feedDeliveryMs} ms`, async () => {
          const other = await secondHandle();
          if (store.changes === undefined || other.changes === undefined) {
            throw new Error('a store with reopen() must have a `changes` feed');
          }
          const heard = new Promise<readonly string[]>((resolve) => {
            const stop = other.changes?.subscribe((ids) => {
              stop?.();
              resolve(ids);
            });
          });
          const ids = [sampleKeyRecord().id, sampleKeyRecord().id];
          await store.changes.publish(ids);
          expect(await waitFor(heard, feedDeliveryMs, 'the change')).toEqual(ids);
        });

        it.each(['opaque', 'signed'] as const)(
          'an authenticator on the other handle refuses %s keys revoked here within the limit',
          async (kind) => {
            const other = await secondHandle();
            const { signing, signedKeys } = kitSigning();
            const manager = createKeyManager({ store, signing });
            // The verification cache is on (the default): a signed key is remembered too.
            const auth = createAuthenticator({ store: other, lastUsed: false, signedKeys });
            const issued = await manager.create({
              workspaceId: 'ws_kit',
              name: 'erp',
              scope: 'admin',
              kind,
            });
            const request = { authorization: `Bearer ${issued.key}`, secure: true };
            expect(codeOf(await auth.authenticate(request))).toBe('ok');
            expect(codeOf(await auth.authenticate(request))).toBe('ok'); // now cached
            const revokedAt = Date.now();
            await manager.revoke(issued.record.id);
            let code = 'ok';
            while (code === 'ok' && Date.now() - revokedAt < feedDeliveryMs) {
              await new Promise((resolve) => setTimeout(resolve, 20));
              code = codeOf(await auth.authenticate(request));
            }
            expect(code).toBe('api_key_revoked');
            await auth.close();
          },
        );
      });
    }
  });
}
