import { KeyManagementError } from './errors.js';
import type {
  ApiKeyRecord,
  KeyChangeFeed,
  KeyChanges,
  KeyPage,
  KeyStore,
  ListKeysQuery,
} from './store.js';
import { createLocalChangeFeed, keyStatus } from './store.js';

/**
 * A key store in process memory: for tests and single-process demos. Records are copied on the
 * way in and out, so callers cannot change stored state by mutating what they hold.
 */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, ApiKeyRecord>();
  /** Everything in this process that uses this store hears of its keys' changes here. */
  readonly changes: KeyChangeFeed = createLocalChangeFeed();

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const record = this.#keys.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    if (this.#keys.has(record.id)) {
      throw new KeyManagementError('duplicate_key_id', `a key with id ${record.id} already exists`);
    }
    this.#keys.set(record.id, structuredClone(record));
  }

  async list(query: ListKeysQuery): Promise<KeyPage> {
    const after = query.cursor === undefined ? undefined : decodeListCursor(query.cursor);
    const matching = [...this.#keys.values()]
      .filter(
        (key) =>
          (query.workspaceId === undefined || key.workspaceId === query.workspaceId) &&
          (query.status === undefined || keyStatus(key, query.now) === query.status),
      )
      .sort(newestFirst)
      .filter((key) => after === undefined || newestFirst(key, after) > 0);
    const items = matching.slice(0, query.limit).map((key) => structuredClone(key));
    const last = items.at(-1);
    return matching.length > query.limit && last !== undefined
      ? { items, nextCursor: encodeListCursor(last) }
      : { items };
  }

  async update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined> {
    const record = this.#keys.get(id);
    if (record === undefined) return undefined;
    const updated: ApiKeyRecord = {
      ...record,
      ...(changes.revokedAt === undefined ? {} : { revokedAt: new Date(changes.revokedAt) }),
      ...(changes.expiresAt === undefined
        ? {}
        : { expiresAt: changes.expiresAt === null ? null : new Date(changes.expiresAt) }),
      ...(changes.rateLimit === undefined ? {} : { rateLimit: changes.rateLimit }),
    };
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

/** Where a listing page ended: stores order keys newest first, ties broken by id. */
export interface ListPosition {
  readonly createdAt: Date;
  readonly id: string;
}

/** Newest first; ties broken by id so that paging is stable. */
function newestFirst(a: ListPosition, b: ListPosition): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The cursor is opaque to callers: the position of the last item of the page. Stores that order
 * like the memory store (newest first, then id) can share this encoding.
 */
export function encodeListCursor(position: ListPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}:${position.id}`).toString('base64url');
}

/** The position a cursor names; rejects with `invalid_key_parameters` if no store made it. */
export function decodeListCursor(cursor: string): ListPosition {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const createdAt = new Date(Number(time));
  if (id === undefined || id.length === 0 || Number.isNaN(createdAt.getTime())) {
    throw new KeyManagementError('invalid_key_parameters', 'cursor is not one this store returned');
  }
  return { createdAt, id };
}
