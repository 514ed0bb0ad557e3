import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeyRecord, KeyStatus, KeyStore } from '../store-types.js';
import { comparable, type Kit, rejectionCode, sampleKeyRecord, T0 } from './kit.js';

/** The kit's part on list: by workspace and status, newest first, stable paging, its limits. */
export function describeListing<S extends KeyStore>(kit: Kit<S>): void {
  let store: S;
  beforeEach(() => {
    store = kit.store;
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
      expect(comparable(page.items[0])).toEqual(
        comparable(records.find((r) => r.id === page.items[0]?.id)),
      );
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

    it('takes 1 to 1000 items a page, and refuses other limits with invalid_key_parameters', async () => {
      const records = Array.from({ length: 3 }, (_, i) =>
        sampleKeyRecord({ createdAt: new Date(T0 + i) }),
      );
      for (const record of records) await store.insert(record);
      expect((await store.list({ now, limit: 1000 })).items).toHaveLength(3);
      expect((await store.list({ now, limit: 1 })).items).toHaveLength(1);
      for (const limit of [0, 1001, 2.5, -1, Number.NaN]) {
        expect(await rejectionCode(store.list({ now, limit }))).toBe('invalid_key_parameters');
      }
    });

    it('refuses a status it does not know with invalid_key_parameters', async () => {
      const status = 'paused' as KeyStatus;
      expect(await rejectionCode(store.list({ now, limit: 10, status }))).toBe(
        'invalid_key_parameters',
      );
    });

    it('an empty store lists nothing', async () => {
      const page = await store.list({ workspaceId: 'ws_none', now, limit: 10 });
      expect(page.items).toEqual([]);
      expect(page.nextCursor).toBeUndefined();
    });
  });
}
