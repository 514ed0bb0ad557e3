import { type ApiKeyRecord, createKeyManager, MemoryKeyStore } from '@orkesta/auth';
import type { KeyChanges, KeyPage, ListKeysQuery } from '@orkesta/auth/store';
import { describeKeyStore } from '@orkesta/auth/testing';
import { describe, expect, it } from 'vitest';

// The record type allows `rateLimit: null` for a key without a rate of its own; a store may
// read it back so (a driver's NULL column) where ours leave the field out. The kit takes both.

const withNull = <T extends ApiKeyRecord | null | undefined>(record: T): T =>
  record && ({ rateLimit: null, ...record } as T);

/** MemoryKeyStore, reading "no rate" back as `rateLimit: null`. */
class NullRateStore extends MemoryKeyStore {
  override async findById(id: string) {
    return withNull(await super.findById(id));
  }

  override async list(query: ListKeysQuery): Promise<KeyPage> {
    const page = await super.list(query);
    return { ...page, items: page.items.map(withNull) };
  }

  override async update(id: string, changes: KeyChanges) {
    return withNull(await super.update(id, changes));
  }
}

describe('a store that reads no rate as rateLimit: null', () => {
  it('does: the kit below runs on such records', async () => {
    const store = new NullRateStore();
    const { record } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-only',
    });
    expect(await store.findById(record.id)).toHaveProperty('rateLimit', null);
    expect((await store.list({ now: new Date(), limit: 10 })).items[0]).toHaveProperty(
      'rateLimit',
      null,
    );
  });
});

describeKeyStore('NullRateStore', { create: () => new NullRateStore() });
