import { beforeEach, describe, expect, it } from 'vitest';
import { KeyManagementError } from '../errors.js';
import type { ApiKeyRecord, KeyStore } from '../store-types.js';
import { comparable, type Kit, rejectionCode, sampleKeyRecord, T0 } from './kit.js';

/** The kit's part on insert and findById, refusal of duplicate ids, concurrent writers. */
export function describeRecords<S extends KeyStore>(kit: Kit<S>): void {
  let store: S;
  beforeEach(() => {
    store = kit.store;
  });
  const { harness } = kit;
  const secondHandle = () => kit.secondHandle();

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
      expect(comparable(found)).toEqual(comparable(record));
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

    it('reads `rateLimit: null` and an absent rateLimit back the same', async () => {
      const withNull = sampleKeyRecord({ rateLimit: null });
      const without = sampleKeyRecord();
      await store.insert(withNull);
      await store.insert(without);
      const [a, b] = [await store.findById(withNull.id), await store.findById(without.id)];
      expect(a !== null && a !== undefined && Object.hasOwn(a, 'rateLimit')).toBe(
        b !== null && b !== undefined && Object.hasOwn(b, 'rateLimit'),
      );
      expect(a?.rateLimit).toBe(b?.rateLimit);
      const listed = (await store.list({ now: new Date(T0), limit: 10 })).items;
      const hasRate = listed.map((record) => Object.hasOwn(record, 'rateLimit'));
      expect(hasRate[0]).toBe(hasRate[1]);
    });

    it('keeps nulls as null', async () => {
      const record = sampleKeyRecord();
      await store.insert(record);
      const found = await store.findById(record.id);
      expect(comparable(found)).toEqual(comparable(record));
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
      expect(comparable(await store.findById(record.id))).toEqual(comparable(record));
    });
  });

  describe('duplicate ids', () => {
    it('refuses a second insert of an id with duplicate_key_id and keeps the first', async () => {
      const first = sampleKeyRecord({ name: 'first' });
      await store.insert(first);
      const code = await rejectionCode(store.insert({ ...first, name: 'second', scope: 'admin' }));
      expect(code).toBe('duplicate_key_id');
      expect(comparable(await store.findById(first.id))).toEqual(comparable(first));
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
      expect(comparable(await store.findById(record.id))).toEqual(
        comparable({
          ...record,
          revokedAt: new Date(T0 + 10),
          expiresAt: new Date(T0 + 20),
          lastUsedAt: new Date(T0 + 30),
        }),
      );
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
}
