import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ApiKeyRecord,
  KeyManagementError,
  type KeyStatus,
  MemoryKeyStore,
} from '../src/index.js';
import {
  decodeListCursor as decodeCursor,
  encodeListCursor as encodeCursor,
} from '../src/list-paging.js';
import { keyStatus } from '../src/store.js';
import { T0 } from './helpers.js';

let counter = 0;
function record(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  counter++;
  return {
    id: `key${String(counter).padStart(9, '0')}`,
    workspaceId: 'ws_1',
    name: 'integration',
    scope: 'read-only',
    environment: 'live',
    hash: `sha256$${Buffer.alloc(32, counter).toString('base64url')}`,
    createdAt: new Date(T0),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
    ...overrides,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Every page of a listing, following cursors. */
async function allPages(
  store: MemoryKeyStore,
  query: { workspaceId?: string; status?: KeyStatus; limit: number; now?: Date },
): Promise<ApiKeyRecord[][]> {
  const pages: ApiKeyRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ now: new Date(T0), ...query, cursor });
    pages.push([...page.items]);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

/** The order the store promises, written out independently: newest first, then by id. */
function expectedOrder(records: ApiKeyRecord[]): string[] {
  return [...records]
    .sort(
      (a, b) =>
        b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .map((r) => r.id);
}

describe('MemoryKeyStore insert and findById', () => {
  it('returns what was inserted, and undefined for an unknown id', async () => {
    const store = new MemoryKeyStore();
    const r = record({ expiresAt: new Date(T0 + 1000) });
    await store.insert(r);
    expect(await store.findById(r.id)).toEqual(r);
    expect(await store.findById('unknown00000')).toBeUndefined();
  });

  it('copies on the way in: changing the inserted object changes nothing stored', async () => {
    const store = new MemoryKeyStore();
    const r = record();
    const mutable = { ...r, createdAt: new Date(T0) };
    await store.insert(mutable);
    (mutable as { name: string }).name = 'changed';
    mutable.createdAt.setTime(0);
    expect(await store.findById(r.id)).toEqual(r);
  });

  it('copies on the way out: changing a returned record changes nothing stored', async () => {
    const store = new MemoryKeyStore();
    const r = record();
    await store.insert(r);
    const found = (await store.findById(r.id))!;
    (found as { scope: string }).scope = 'admin';
    found.createdAt.setTime(0);
    const listed = (await store.list({ now: new Date(T0), limit: 10 })).items[0]!;
    (listed as { workspaceId: string }).workspaceId = 'other';
    const updated = (await store.update(r.id, { revokedAt: new Date(T0 + 1) }))!;
    updated.revokedAt!.setTime(0);
    expect(await store.findById(r.id)).toEqual({ ...r, revokedAt: new Date(T0 + 1) });
  });

  it('refuses a duplicate id with duplicate_key_id and keeps the first record', async () => {
    const store = new MemoryKeyStore();
    const r = record();
    await store.insert(r);
    const error = await errorOf(store.insert({ ...r, name: 'second' }));
    expect(error).toBeInstanceOf(KeyManagementError);
    expect((error as KeyManagementError).code).toBe('duplicate_key_id');
    expect((error as KeyManagementError).status).toBe(409);
    expect((await store.findById(r.id))!.name).toBe('integration');
  });
});

describe('MemoryKeyStore update', () => {
  it('sets revokedAt and expiresAt, and leaves other fields alone', async () => {
    const store = new MemoryKeyStore();
    const r = record({ expiresAt: new Date(T0 + 5000) });
    await store.insert(r);
    const revoked = await store.update(r.id, { revokedAt: new Date(T0 + 1) });
    expect(revoked).toEqual({ ...r, revokedAt: new Date(T0 + 1) });
    const cleared = await store.update(r.id, { expiresAt: null });
    expect(cleared).toEqual({ ...r, revokedAt: new Date(T0 + 1), expiresAt: null });
    const moved = await store.update(r.id, { expiresAt: new Date(T0 + 9) });
    expect(moved!.expiresAt).toEqual(new Date(T0 + 9));
    expect(await store.findById(r.id)).toEqual(moved);
    expect(await store.update(r.id, {})).toEqual(moved);
  });

  it('returns undefined for an unknown id', async () => {
    expect(await new MemoryKeyStore().update('nope', { revokedAt: new Date() })).toBeUndefined();
  });
});

describe('MemoryKeyStore recordLastUsed', () => {
  it('moves lastUsedAt forward, never backward, and skips unknown ids', async () => {
    const store = new MemoryKeyStore();
    const a = record();
    const b = record();
    await store.insert(a);
    await store.insert(b);
    await store.recordLastUsed(
      new Map([
        [a.id, new Date(T0 + 100)],
        ['unknown', new Date(T0)],
      ]),
    );
    expect((await store.findById(a.id))!.lastUsedAt).toEqual(new Date(T0 + 100));
    expect((await store.findById(b.id))!.lastUsedAt).toBeNull();
    expect(await store.findById('unknown')).toBeUndefined();

    await store.recordLastUsed(
      new Map([
        [a.id, new Date(T0 + 50)],
        [b.id, new Date(T0 + 10)],
      ]),
    );
    expect((await store.findById(a.id))!.lastUsedAt).toEqual(new Date(T0 + 100));
    expect((await store.findById(b.id))!.lastUsedAt).toEqual(new Date(T0 + 10));

    await store.recordLastUsed(new Map([[a.id, new Date(T0 + 200)]]));
    expect((await store.findById(a.id))!.lastUsedAt).toEqual(new Date(T0 + 200));
  });

  it('does not keep a reference to the Date it was given', async () => {
    const store = new MemoryKeyStore();
    const a = record();
    await store.insert(a);
    const used = new Date(T0 + 5);
    await store.recordLastUsed(new Map([[a.id, used]]));
    used.setTime(0);
    expect((await store.findById(a.id))!.lastUsedAt).toEqual(new Date(T0 + 5));
  });
});

describe('MemoryKeyStore list', () => {
  it('filters by workspace and by status at the given instant', async () => {
    const store = new MemoryKeyStore();
    const active = record({ workspaceId: 'ws_a' });
    const revoked = record({ workspaceId: 'ws_a', revokedAt: new Date(T0) });
    const expiring = record({ workspaceId: 'ws_a', expiresAt: new Date(T0 + 1000) });
    const elsewhere = record({ workspaceId: 'ws_b' });
    for (const r of [active, revoked, expiring, elsewhere]) await store.insert(r);

    const ids = async (query: { workspaceId?: string; status?: KeyStatus; now: Date }) =>
      (await store.list({ limit: 100, ...query })).items.map((r) => r.id).sort();

    expect(await ids({ now: new Date(T0) })).toEqual(
      [active, revoked, expiring, elsewhere].map((r) => r.id).sort(),
    );
    expect(await ids({ workspaceId: 'ws_a', now: new Date(T0) })).toEqual(
      [active, revoked, expiring].map((r) => r.id).sort(),
    );
    expect(await ids({ workspaceId: 'ws_a', status: 'active', now: new Date(T0) })).toEqual(
      [active, expiring].map((r) => r.id).sort(),
    );
    expect(await ids({ workspaceId: 'ws_a', status: 'active', now: new Date(T0 + 1000) })).toEqual([
      active.id,
    ]);
    expect(await ids({ status: 'expired', now: new Date(T0 + 999) })).toEqual([]);
    expect(await ids({ status: 'expired', now: new Date(T0 + 1000) })).toEqual([expiring.id]);
    expect(await ids({ status: 'revoked', now: new Date(T0) })).toEqual([revoked.id]);
    expect(await ids({ workspaceId: 'ws_none', now: new Date(T0) })).toEqual([]);
  });

  it('pages newest first, ties by id, with no duplicate or missing item', async () => {
    const store = new MemoryKeyStore();
    const records = [0, 3, 1, 3, 2, 0, 3, 1, 1, 2, 0].map((minutes) =>
      record({ createdAt: new Date(T0 + minutes * 60_000) }),
    );
    // Insert in a scrambled order so the listing order cannot come from insertion order.
    for (const r of [...records].reverse()) await store.insert(r);

    const pages = await allPages(store, { limit: 3 });
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
    expect(pages.flat().map((r) => r.id)).toEqual(expectedOrder(records));

    const single = await allPages(store, { limit: 11 });
    expect(single).toHaveLength(1);
    const exact = await store.list({ now: new Date(T0), limit: 11 });
    expect(exact.nextCursor).toBeUndefined();
    const one = await store.list({ now: new Date(T0), limit: 10 });
    expect(one.nextCursor).toBeDefined();
  });

  it('keeps paging stable when a newer key is added between pages', async () => {
    const store = new MemoryKeyStore();
    const records = Array.from({ length: 5 }, (_, i) => record({ createdAt: new Date(T0 + i) }));
    for (const r of records) await store.insert(r);
    const first = await store.list({ now: new Date(T0), limit: 2 });
    await store.insert(record({ createdAt: new Date(T0 + 100) }));
    const second = await store.list({ now: new Date(T0), limit: 10, cursor: first.nextCursor });
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual(expectedOrder(records));
  });

  it('any set of keys and page size: pages concatenate to the full ordered list', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        async (offsets, limit) => {
          const store = new MemoryKeyStore();
          const records = offsets.map((o) => record({ createdAt: new Date(T0 + o) }));
          for (const r of records) await store.insert(r);
          const pages = await allPages(store, { limit });
          expect(pages.flat().map((r) => r.id)).toEqual(expectedOrder(records));
          for (const page of pages) expect(page.length).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('filters and pages together', async () => {
    const store = new MemoryKeyStore();
    const mine = Array.from({ length: 7 }, (_, i) =>
      record({ workspaceId: 'ws_a', createdAt: new Date(T0 + i) }),
    );
    const theirs = Array.from({ length: 4 }, (_, i) =>
      record({ workspaceId: 'ws_b', createdAt: new Date(T0 + i) }),
    );
    const revoked = record({ workspaceId: 'ws_a', revokedAt: new Date(T0) });
    for (const r of [...mine, ...theirs, revoked]) await store.insert(r);
    const pages = await allPages(store, { workspaceId: 'ws_a', status: 'active', limit: 2 });
    expect(pages.flat().map((r) => r.id)).toEqual(expectedOrder(mine));
  });

  it('refuses a cursor it did not make', async () => {
    const store = new MemoryKeyStore();
    await store.insert(record());
    for (const cursor of ['garbage', '', Buffer.from('abc:').toString('base64url')]) {
      const error = await errorOf(store.list({ now: new Date(T0), limit: 1, cursor }));
      expect(error).toBeInstanceOf(KeyManagementError);
      expect((error as KeyManagementError).code).toBe('invalid_key_parameters');
    }
  });

  it('encodes and decodes cursors as positions', () => {
    const position = { createdAt: new Date(T0 + 42), id: 'AbC123' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(encodeCursor(position)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('keyStatus', () => {
  it('says revoked before expired, and expired from the expiry instant on', () => {
    const at = new Date(T0 + 1000);
    expect(keyStatus({ revokedAt: null, expiresAt: null }, T0)).toBe('active');
    expect(keyStatus({ revokedAt: null, expiresAt: at }, T0 + 999)).toBe('active');
    expect(keyStatus({ revokedAt: null, expiresAt: at }, T0 + 1000)).toBe('expired');
    expect(keyStatus({ revokedAt: null, expiresAt: at }, new Date(T0 + 1001))).toBe('expired');
    expect(keyStatus({ revokedAt: new Date(T0), expiresAt: at }, T0 + 5000)).toBe('revoked');
    expect(keyStatus({ revokedAt: new Date(T0), expiresAt: null }, T0)).toBe('revoked');
  });
});
