import { createLocalChangeFeed } from '@orkesta/auth';
import {
  type ApiKeyRecord,
  checkListQuery,
  type KeyChanges,
  KeyManagementError,
  type KeyPage,
  type KeyStore,
  keyStatus,
  type ListKeysQuery,
  newestFirst,
  pageOf,
} from '@orkesta/auth/store';

/** A row as a database hands one back: snake_case, `null` for none, the rate as JSON text. */
interface KeyRow {
  id: string;
  workspace_id: string;
  name: string;
  scope: ApiKeyRecord['scope'];
  environment: ApiKeyRecord['environment'];
  hash: ApiKeyRecord['hash'];
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  rotated_from_id: string | null;
  rate_limit: string | null;
}

const copy = (date: Date | null) => (date === null ? null : new Date(date));

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    scope: row.scope,
    environment: row.environment,
    hash: row.hash,
    createdAt: new Date(row.created_at),
    expiresAt: copy(row.expires_at),
    revokedAt: copy(row.revoked_at),
    lastUsedAt: copy(row.last_used_at),
    rotatedFromId: row.rotated_from_id,
    rateLimit: row.rate_limit === null ? null : JSON.parse(row.rate_limit),
  };
}

function toRow(record: ApiKeyRecord): KeyRow {
  return {
    id: record.id,
    workspace_id: record.workspaceId,
    name: record.name,
    scope: record.scope,
    environment: record.environment,
    hash: record.hash,
    created_at: new Date(record.createdAt),
    expires_at: copy(record.expiresAt),
    revoked_at: copy(record.revokedAt),
    last_used_at: copy(record.lastUsedAt),
    rotated_from_id: record.rotatedFromId,
    rate_limit: record.rateLimit == null ? null : JSON.stringify(record.rateLimit),
  };
}

/** A key store over one table. The Map stands in for it: each method is one query. */
export class TableKeyStore implements KeyStore {
  readonly #table = new Map<string, KeyRow>();
  /** Tells every authenticator in this process which keys changed (see below for several). */
  readonly changes = createLocalChangeFeed();

  async findById(id: string): Promise<ApiKeyRecord | null> {
    const row = this.#table.get(id); // SELECT * FROM api_keys WHERE id = $1
    return row === undefined ? null : toRecord(row);
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
    // WHERE workspace_id = $1 AND <status at now> AND (created_at, id) after the cursor
    // ORDER BY created_at DESC, id LIMIT limit + 1
    const matching = [...this.#table.values()]
      .map(toRecord)
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
    // UPDATE … SET only the fields given WHERE id = $1 RETURNING *
    const row = this.#table.get(id);
    if (row === undefined) return undefined;
    const updated: KeyRow = {
      ...row,
      ...(changes.revokedAt !== undefined && { revoked_at: new Date(changes.revokedAt) }),
      ...(changes.expiresAt !== undefined && { expires_at: copy(changes.expiresAt) }),
      ...(changes.rateLimit !== undefined && {
        rate_limit: changes.rateLimit === null ? null : JSON.stringify(changes.rateLimit),
      }),
    };
    this.#table.set(id, updated);
    return toRecord(updated);
  }

  async recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void> {
    // UPDATE … SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)
    for (const [id, usedAt] of batch) {
      const row = this.#table.get(id);
      if (row !== undefined && (row.last_used_at === null || row.last_used_at < usedAt)) {
        this.#table.set(id, { ...row, last_used_at: new Date(usedAt) });
      }
    }
  }
}
