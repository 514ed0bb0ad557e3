import { createLocalChangeFeed, type LocalChangeFeed } from './change-feed.js';
import { KeyManagementError } from './errors.js';
import { checkListQuery, newestFirst, pageOf } from './list-paging.js';
import type { ApiKeyRecord, KeyChanges, KeyPage, KeyStore, ListKeysQuery } from './store-types.js';
import { keyStatus } from './store-types.js';

/**
 * A key store in process memory: for tests and single-process demos. Records are copied on the
 * way in and out, so callers cannot change stored state by mutating what they hold.
 */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, ApiKeyRecord>();
  /** Everything in this process that uses this store hears of its keys' changes here. */
  readonly changes: LocalChangeFeed = createLocalChangeFeed();

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const record = this.#keys.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    if (this.#keys.has(record.id)) {
      throw new KeyManagementError('duplicate_key_id', `a key with id ${record.id} already exists`);
    }
    this.#keys.set(record.id, withRate(structuredClone(record), record.rateLimit));
  }

  async list(query: ListKeysQuery): Promise<KeyPage> {
    const after = checkListQuery(query);
    const matching = [...this.#keys.values()]
      .filter(
        (key) =>
          (query.workspaceId === undefined || key.workspaceId === query.workspaceId) &&
          (query.status === undefined || keyStatus(key, query.now) === query.status) &&
          (after === undefined || newestFirst(key, after) > 0),
      )
      .sort(newestFirst);
    return pageOf(matching.slice(0, query.limit + 1), query.limit, (key) => structuredClone(key));
  }

  async update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined> {
    const record = this.#keys.get(id);
    if (record === undefined) return undefined;
    const updated: ApiKeyRecord = withRate(
      {
        ...record,
        ...(changes.revokedAt === undefined ? {} : { revokedAt: new Date(changes.revokedAt) }),
        ...(changes.expiresAt === undefined
          ? {}
          : { expiresAt: changes.expiresAt === null ? null : new Date(changes.expiresAt) }),
      },
      changes.rateLimit === undefined ? record.rateLimit : changes.rateLimit,
    );
    this.#keys.set(id, updated);
    return structuredClone(updated);
  }

  async recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void> {
    for (const [id, usedAt] of batch) {
      const record = this.#keys.get(id);
      if (record === undefined) continue;
      if (record.lastUsedAt === null || record.lastUsedAt < usedAt) {
        this.#keys.set(id, { ...record, lastUsedAt: new Date(usedAt) });
      }
    }
  }
}

/**
 * `record` with `rate` as its own rate: no `rateLimit` field for none, as the SQL stores read a
 * record back, so that `rateLimit: null` and an absent one are the same.
 */
function withRate(record: ApiKeyRecord, rate: ApiKeyRecord['rateLimit']): ApiKeyRecord {
  const { rateLimit: _dropped, ...rest } = record;
  return rate === null || rate === undefined ? rest : { ...rest, rateLimit: structuredClone(rate) };
}
