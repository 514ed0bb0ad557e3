import { KeyManagementError } from './errors.js';
import type { KeyEnvironment } from './key-format.js';
import type { RateLimitPolicy } from './rate-limit.js';
import type { Scope } from './scopes.js';
import type { ApiKeyRecord, KeyStatus } from './store-types.js';

/**
 * What the SQL stores (SQLite, PostgreSQL) share: one table of keys, the same columns, the same
 * row mapping, status conditions, order and paging condition. Dates come back as `Date`
 * (PostgreSQL) or epoch milliseconds (SQLite); a key's own rate as JSON text or as a parsed
 * object.
 */
export const KEY_COLUMNS =
  'id, workspace_id, name, scope, environment, hash, created_at, expires_at, revoked_at, last_used_at, rotated_from_id, rate_limit';

/** Newest first, ties broken by id: the order of `MemoryKeyStore` and of the list cursor. */
export const KEY_ORDER = 'ORDER BY created_at DESC, id ASC';

/** A row of the keys table as a driver hands it back. */
export interface KeyRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly name: string;
  readonly scope: Scope;
  readonly environment: KeyEnvironment;
  readonly hash: string;
  readonly created_at: Date | number;
  readonly expires_at: Date | number | null;
  readonly revoked_at: Date | number | null;
  readonly last_used_at: Date | number | null;
  readonly rotated_from_id: string | null;
  /** The key's own `RateLimitPolicy` (JSON text or parsed), or null for its scope's default. */
  readonly rate_limit: string | RateLimitPolicy | null;
}

/**
 * The record of a row. A key without a rate of its own has no `rateLimit` field, as records
 * without one are written: `rateLimit: null` and an absent one read back the same.
 */
export function recordFromRow(row: KeyRow): ApiKeyRecord {
  const rate =
    row.rate_limit === null
      ? null
      : typeof row.rate_limit === 'string'
        ? (JSON.parse(row.rate_limit) as RateLimitPolicy)
        : row.rate_limit;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    scope: row.scope,
    environment: row.environment,
    hash: row.hash,
    createdAt: dateOf(row.created_at),
    expiresAt: row.expires_at === null ? null : dateOf(row.expires_at),
    revokedAt: row.revoked_at === null ? null : dateOf(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : dateOf(row.last_used_at),
    rotatedFromId: row.rotated_from_id,
    ...(rate === null ? {} : { rateLimit: rate }),
  };
}

/** A key's own rate as stored: its three fields only, as JSON; null for none. */
export function rateLimitJson(policy: RateLimitPolicy | null | undefined): string | null {
  if (policy === undefined || policy === null) return null;
  if (typeof policy !== 'object') {
    throw new KeyManagementError(
      'invalid_key_parameters',
      'rateLimit must be { limit, windowSeconds, burst? }',
    );
  }
  const { limit, windowSeconds, burst } = policy;
  return JSON.stringify(
    burst === undefined ? { limit, windowSeconds } : { limit, windowSeconds, burst },
  );
}

/**
 * The SQL condition for keys of `status` at the instant the placeholder `now` stands for
 * (`@now`, `$2`): revoked wins over expired, and a key expires at its instant exactly.
 */
export function statusCondition(status: KeyStatus, now: string): string {
  switch (status) {
    case 'revoked':
      return 'revoked_at IS NOT NULL';
    case 'expired':
      return `(revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ${now})`;
    case 'active':
      return `(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now}))`;
  }
}

/** The placeholders of a listing query; a filter whose placeholder is absent is not applied. */
export interface ListPlaceholders {
  readonly workspaceId?: string | undefined;
  /** For `status`: the instant it is judged at. */
  readonly now?: string | undefined;
  readonly status?: KeyStatus | undefined;
  /** The position of the cursor: the keys after it, in `KEY_ORDER`. */
  readonly after?: { readonly createdAt: string; readonly id: string } | undefined;
  /** How many rows to fetch: the page's limit plus one, to know whether more follow. */
  readonly fetch: string;
}

/** The SELECT of one page of keys from `table`, newest first. */
export function listKeysSql(table: string, p: ListPlaceholders): string {
  const where: string[] = [];
  if (p.workspaceId !== undefined) where.push(`workspace_id = ${p.workspaceId}`);
  if (p.status !== undefined) where.push(statusCondition(p.status, p.now ?? 'NULL'));
  if (p.after !== undefined) {
    const { createdAt, id } = p.after;
    where.push(`(created_at < ${createdAt} OR (created_at = ${createdAt} AND id > ${id}))`);
  }
  const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return `SELECT ${KEY_COLUMNS} FROM ${table}${filter} ${KEY_ORDER} LIMIT ${p.fetch}`;
}

function dateOf(value: Date | number): Date {
  return value instanceof Date ? value : new Date(value);
}
