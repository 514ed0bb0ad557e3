import { createLocalChangeFeed } from '@orkesta/auth';
import {
  type ApiKeyRecord,
  checkListQuery,
  type KeyChanges,
  KeyManagementError,
  type KeyPage,
  type KeyRow,
  type KeyStore,
  keyStatus,
  type ListKeysQuery,
  newestFirst,
  pageOf,
  rateLimitJson,
  recordFromRow,
} from '@orkesta/auth/store';

/** A record as a row of the table the SQL stores share: dates as epoch ms, the rate as JSON. */
function toRow(record: ApiKeyRecord): KeyRow {
  const ms = (date: Date | null) => (date === null ? null : date.getTime());
  return {
    id: record.id,
    workspace_id: record.workspaceId,
    name: record.name,
    scope: record.scope,
    environment: record.environment,
    hash: record.hash,
    created_at: record.createdAt.getTime(),
    expires_at: ms(record.expiresAt),
    revoked_at: ms(record.revokedAt),
    last_used_at: ms(record.lastUsedAt),
    rotated_from_id: record.rotatedFromId,
    rate_limit: rateLimitJson(record.rateLimit),
  };
}

/** A key store over one table. The Map stands in for it: each method is one query. */
export class TableKeyStore implements KeyStore {
  readonly #table = new Map<string, KeyRow>();
  /** Tells every authenticator in this process which keys changed (see below for several). */
  readonly changes = createLocalChangeFeed();

  async findById(id: string): Promise<ApiKeyRecord | null> {
    const row = this.#table.get(id); // SELECT <KEY_COLUMNS> FROM api_keys WHERE id = $1
    return row === undefined ? null : recordFromRow(row);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    // INSERT …, with id the primary key: a unique violation is duplicate_key_id.
    if (this.#table.has(record.id)) {
      throw new KeyManagementError('duplicate_key_id', `a key with id ${record.id} exists`);
    }
    this.#table.set(record.id, toRow(record));
  }

  async list(query: ListKeysQuery): Promise<KeyPage> {
    // Checks limit, status and now, and reads the cursor: the last item of the page before.
    const after = checkListQuery(query);
    // In SQL, with after's fields bound as parameters, never pasted into the text:
    // listKeysSql('api_keys', { workspaceId: '$1', status, now: '$2',
    //   after: { createdAt: '$3', id: '$4' }, fetch: '$5' })
    const matching = [...this.#table.values()]
      .map(recordFromRow)
      .filter(
        (key) =>
          (query.workspaceId === undefined || key.workspaceId === query.workspaceId) &&
          (query.status === undefined || keyStatus(key, query.now) === query.status) &&
          (after === undefined || newestFirst(key, after) > 0),
      )
      .sort(newestFirst)
      .slice(0, query.limit + 1);
    // The first `limit` items, and a cursor when there was one more.
    return pageOf(matching, query.limit, (key) => key);
  }

  async update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined> {
    // UPDATE … SET only the fields given WHERE id = $1 RETURNING <KEY_COLUMNS>
    const row = this.#table.get(id);
    if (row === undefined) return undefined;
    const { revokedAt, expiresAt, rateLimit } = changes;
    const updated: KeyRow = {
      ...row,
      ...(revokedAt !== undefined && { revoked_at: revokedAt.getTime() }),
      ...(expiresAt !== undefined && {
        expires_at: expiresAt === null ? null : expiresAt.getTime(),
      }),
      ...(rateLimit !== undefined && { rate_limit: rateLimitJson(rateLimit) }),
    };
    this.#table.set(id, updated);
    return recordFromRow(updated);
  }

  async recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void> {
    // UPDATE … SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)
    for (const [id, usedAt] of batch) {
      const row = this.#table.get(id);
      const at = usedAt.getTime();
      if (row !== undefined && (row.last_used_at === null || Number(row.last_used_at) < at)) {
        this.#table.set(id, { ...row, last_used_at: at });
      }
    }
  }
}
