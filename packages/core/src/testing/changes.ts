import { beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../store-types.js';
import { comparable, type Kit, sampleKeyRecord, T0 } from './kit.js';

/** The kit's part on update (revoke, expiry, per-key rates) and last-used batches. */
export function describeChanges<S extends KeyStore>(kit: Kit<S>): void {
  let store: S;
  beforeEach(() => {
    store = kit.store;
  });

  describe('update: revoke and expiry', () => {
    it('revokes: sets revokedAt and returns the updated record', async () => {
      const record = sampleKeyRecord();
      await store.insert(record);
      const updated = await store.update(record.id, { revokedAt: new Date(T0 + 7) });
      expect(comparable(updated)).toEqual(comparable({ ...record, revokedAt: new Date(T0 + 7) }));
      expect(comparable(await store.findById(record.id))).toEqual(comparable(updated));
    });

    it('sets and clears expiresAt, leaving other fields alone', async () => {
      const record = sampleKeyRecord({ expiresAt: new Date(T0 + 50) });
      await store.insert(record);
      expect(comparable(await store.update(record.id, { expiresAt: new Date(T0 + 9) }))).toEqual(
        comparable({ ...record, expiresAt: new Date(T0 + 9) }),
      );
      expect(comparable(await store.update(record.id, { expiresAt: null }))).toEqual(
        comparable({ ...record, expiresAt: null }),
      );
      expect(comparable(await store.findById(record.id))).toEqual(
        comparable({ ...record, expiresAt: null }),
      );
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
      expect(comparable(await store.update(record.id, {}))).toEqual(comparable(record));
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
      expect(comparable(await store.findById(b.id))).toEqual(comparable(b));
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
}
