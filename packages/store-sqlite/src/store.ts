import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigurationError, type RateLimitPolicy } from '@orkesta/auth';
import {
  type ApiKeyRecord,
  checkListQuery,
  KEY_COLUMNS,
  type KeyChangeFeed,
  type KeyChanges,
  KeyManagementError,
  type KeyPage,
  type KeyRow,
  type KeyStatus,
  type KeyStore,
  type ListKeysQuery,
  listKeysSql,
  pageOf,
  rateLimitJson,
  recordFromRow,
  StoreClosedError,
} from '@orkesta/auth/store';
import Database from 'better-sqlite3';
import { SqliteChangeFeed } from './change-feed.js';
import { type ResolvedOptions, resolveOptions, type SqliteKeyStoreOptions } from './options.js';
import { migrate } from './schema.js';

/** A key's own rate as the `rate_limit` column holds it: JSON of its fields, or null. */
function rateLimitText(policy: RateLimitPolicy | null | undefined): string | null {
  if (policy !== undefined && policy !== null && typeof policy !== 'object') {
    throw invalid('rateLimit must be { limit, windowSeconds, burst? }');
  }
  return rateLimitJson(policy);
}

function invalid(detail: string): KeyManagementError {
  return new KeyManagementError('invalid_key_parameters', detail);
}

function epoch(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(`${field} must be a valid Date`);
  return ms;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function epochOrNull(value: unknown, field: string): number | null {
  return value === null ? null : epoch(value, field);
}

function sqliteCode(error: unknown): unknown {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

/**
 * An API-key store in one SQLite file (better-sqlite3): for a single machine, the CLI and the
 * demo. Opening migrates the file; several processes may share it, and keys revoked or rotated
 * through one reach the others' authenticators through `changes` within a second.
 */
export class SqliteKeyStore implements KeyStore {
  /**
   * This handle's change feed: `publish` tells this handle's listeners at once and records the
   * change in the file; other handles on the file hear it by polling (`pollIntervalMs`).
   */
  readonly changes: KeyChangeFeed;
  readonly #feed: SqliteChangeFeed;
  /** The file this store opened, as given (or `':memory:'`). */
  readonly filename: string;
  readonly #db: Database.Database;
  #closed = false;
  /** What a closed store's errors name: `the SqliteKeyStore on keys.db`. */
  readonly #what: string;
  readonly #find: Database.Statement<[string], KeyRow>;
  readonly #insert: Database.Statement<[Record<string, unknown>]>;
  readonly #update: Database.Statement<[Record<string, unknown>], KeyRow>;
  readonly #touch: Database.Statement<[Record<string, unknown>]>;
  readonly #touchAll: Database.Transaction<(batch: readonly (readonly [string, number])[]) => void>;
  readonly #lists = new Map<string, Database.Statement<[Record<string, unknown>], KeyRow>>();

  constructor(options: SqliteKeyStoreOptions) {
    const resolved: ResolvedOptions = resolveOptions(options);
    this.filename = resolved.filename;
    this.#what = `the SqliteKeyStore on ${resolved.filename}`;
    const db = open(resolved);
    this.#db = db;
    // Statements are prepared once, here; a file that cannot take them is closed again.
    try {
      this.#find = db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`);
      this.#insert = db.prepare<[Record<string, unknown>], unknown>(
        `INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (@id, @workspaceId, @name, @scope, @environment, @hash, @createdAt, @expiresAt, @revokedAt, @lastUsedAt, @rotatedFromId, @rateLimit)`,
      );
      this.#update = db.prepare<[Record<string, unknown>], KeyRow>(
        `UPDATE api_keys SET
           revoked_at = CASE WHEN @setRevoked THEN @revokedAt ELSE revoked_at END,
           expires_at = CASE WHEN @setExpires THEN @expiresAt ELSE expires_at END,
           rate_limit = CASE WHEN @setRate THEN @rateLimit ELSE rate_limit END
         WHERE id = @id RETURNING ${KEY_COLUMNS}`,
      );
      this.#touch = db.prepare<[Record<string, unknown>], unknown>(
        'UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, @at), @at) WHERE id = @id',
      );
      this.#touchAll = db.transaction((batch: readonly (readonly [string, number])[]) => {
        for (const [id, at] of batch) this.#touch.run({ id, at });
      });
      this.#feed = new SqliteChangeFeed({
        db,
        pollIntervalMs: resolved.pollIntervalMs,
        onError: resolved.onFeedError,
        assertOpen: () => this.#assertOpen(),
      });
      this.changes = this.#feed;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    this.#assertOpen();
    if (typeof id !== 'string') return undefined;
    const row = this.#find.get(id);
    return row === undefined ? undefined : recordFromRow(row);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    this.#assertOpen();
    const values = {
      id: text(record.id, 'id'),
      workspaceId: text(record.workspaceId, 'workspaceId'),
      name: text(record.name, 'name'),
      scope: text(record.scope, 'scope'),
      environment: text(record.environment, 'environment'),
      hash: text(record.hash, 'hash'),
      createdAt: epoch(record.createdAt, 'createdAt'),
      expiresAt: epochOrNull(record.expiresAt, 'expiresAt'),
      revokedAt: epochOrNull(record.revokedAt, 'revokedAt'),
      lastUsedAt: epochOrNull(record.lastUsedAt, 'lastUsedAt'),
      rotatedFromId:
        record.rotatedFromId === null ? null : text(record.rotatedFromId, 'rotatedFromId'),
      rateLimit: rateLimitText(record.rateLimit),
    };
    try {
      this.#insert.run(values);
    } catch (error) {
      const code = sqliteCode(error);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeyManagementError(
          'duplicate_key_id',
          `a key with id ${record.id} already exists`,
        );
      }
      if (code === 'SQLITE_CONSTRAINT_CHECK') {
        throw invalid(`key ${record.id} has a scope or environment this store does not know`);
      }
      throw error;
    }
  }

  async list(query: ListKeysQuery): Promise<KeyPage> {
    this.#assertOpen();
    const after = checkListQuery(query);
    const { workspaceId, status, limit } = query;
    const rows = this.#listStatement(workspaceId !== undefined, status, after !== undefined).all({
      workspaceId,
      now: status === 'active' || status === 'expired' ? query.now.getTime() : undefined,
      afterCreatedAt: after?.createdAt.getTime(),
      afterId: after?.id,
      fetch: limit + 1,
    });
    return pageOf(rows, limit, recordFromRow);
  }

  async update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined> {
    this.#assertOpen();
    const setRevoked = changes.revokedAt !== undefined;
    const setExpires = changes.expiresAt !== undefined;
    const setRate = changes.rateLimit !== undefined;
    const row = this.#update.get({
      id,
      setRevoked: setRevoked ? 1 : 0,
      revokedAt: setRevoked ? epoch(changes.revokedAt, 'revokedAt') : null,
      setExpires: setExpires ? 1 : 0,
      expiresAt: setExpires ? epochOrNull(changes.expiresAt, 'expiresAt') : null,
      setRate: setRate ? 1 : 0,
      rateLimit: rateLimitText(changes.rateLimit),
    });
    return row === undefined ? undefined : recordFromRow(row);
  }

  async recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void> {
    this.#assertOpen();
    const entries = [...batch].map(([id, at]) => [id, epoch(at, 'lastUsedAt')] as const);
    if (entries.length === 0) return;
    this.#touchAll.immediate(entries);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops polling for changes and closes the database. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.close();
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.#what);
  }

  /** One prepared statement per shape of query, prepared on first use. */
  #listStatement(
    byWorkspace: boolean,
    status: KeyStatus | undefined,
    paged: boolean,
  ): Database.Statement<[Record<string, unknown>], KeyRow> {
    const key = `${byWorkspace}:${status}:${paged}`;
    let statement = this.#lists.get(key);
    if (statement === undefined) {
      statement = this.#db.prepare<[Record<string, unknown>], KeyRow>(
        listKeysSql('api_keys', {
          workspaceId: byWorkspace ? '@workspaceId' : undefined,
          status,
          now: '@now',
          after: paged ? { createdAt: '@afterCreatedAt', id: '@afterId' } : undefined,
          fetch: '@fetch',
        }),
      );
      this.#lists.set(key, statement);
    }
    return statement;
  }
}

/** Opens the file (creating its directory), sets WAL and the busy timeout, and migrates it. */
function open({ filename, busyTimeoutMs }: ResolvedOptions): Database.Database {
  const memory = filename === ':memory:';
  if (!memory) mkdirSync(dirname(resolve(filename)), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(filename, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new ConfigurationError(
      `cannot open the key store file ${filename}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Switching a fresh file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at
    // once rather than waiting when another process opens the same file at that moment.
    const deadline = Date.now() + busyTimeoutMs;
    if (!memory) retryWhileBusy(deadline, () => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
    retryWhileBusy(deadline, () => migrate(db, filename));
    return db;
  } catch (error) {
    db.close();
    if (sqliteCode(error) === 'SQLITE_NOTADB') {
      throw new ConfigurationError(
        `${filename} is not a SQLite database; give SqliteKeyStore the path of a key store file, or of a file to create`,
        { cause: error },
      );
    }
    throw error;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Runs `attempt` again after a short pause while it fails with SQLITE_BUSY, until `deadline`. */
function retryWhileBusy(deadline: number, attempt: () => unknown): void {
  for (;;) {
    try {
      attempt();
      return;
    } catch (error) {
      const code = sqliteCode(error);
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) {
        throw error;
      }
      // Opening is synchronous, like every better-sqlite3 call: wait without returning.
      Atomics.wait(pause, 0, 0, 5 + Math.random() * 20);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `new SqliteKeyStore(options)`, reading well at call sites:
 * `openSqliteKeyStore('.orkesta/keys.db')` or `openSqliteKeyStore({ filename, pollIntervalMs })`.
 */
export function openSqliteKeyStore(
  filenameOrOptions: string | SqliteKeyStoreOptions,
): SqliteKeyStore {
  return new SqliteKeyStore(
    typeof filenameOrOptions === 'string' ? { filename: filenameOrOptions } : filenameOrOptions,
  );
}
