import { ConfigurationError } from '@orkesta/auth';
import {
  type ApiKeyRecord,
  checkListQuery,
  KEY_COLUMNS,
  type KeyChanges,
  KeyManagementError,
  type KeyPage,
  type KeyRow,
  type KeyStore,
  type ListKeysQuery,
  listKeysSql,
  MAX_TIMER_MS,
  pageOf,
  positiveInteger,
  rateLimitJson,
  recordFromRow,
  rejectUnknownOptions,
  StoreClosedError,
} from '@orkesta/auth/store';
import pg from 'pg';
import {
  PostgresChangeFeed,
  type PostgresErrorHandler,
  type PostgresErrorOperation,
  type ReconnectDelay,
} from './change-feed.js';
import { SchemaVersionError } from './errors.js';
import {
  defaultChannel,
  quoteIdentifier,
  validateChannel,
  validateSchemaName,
} from './identifiers.js';
import {
  isPool,
  type MigrationResult,
  migrate,
  readSchemaVersion,
  SCHEMA_VERSION,
} from './migrations.js';

export interface PostgresKeyStoreOptions {
  /**
   * A pool of your own. The store never ends it, and cannot set its timeouts: give it
   * `statement_timeout`, `query_timeout` and `connectionTimeoutMillis` yourself, and an `'error'`
   * listener. Give this or `connectionString`, not both.
   */
  readonly pool?: pg.Pool | undefined;
  /** A `postgres://` URL: the store makes (and at `close()` ends) a pool of its own. */
  readonly connectionString?: string | undefined;
  /** The schema holding the tables. A plain lowercase identifier. Default `orkesta_auth`. */
  readonly schema?: string | undefined;
  /**
   * Longest a statement may run on the store's own pool, in ms (PostgreSQL's
   * `statement_timeout`; the client also gives up 1 s later, should the server stop answering).
   * Default 2,000. Only with `connectionString`.
   */
  readonly statementTimeoutMs?: number | undefined;
  /** Longest wait for a connection, in ms: the store's own pool and the listening connection. Default 5,000. */
  readonly connectTimeoutMs?: number | undefined;
  /** Connections in the store's own pool. Default 10. Only with `connectionString`. */
  readonly poolMax?: number | undefined;
  /** The LISTEN/NOTIFY channel. Default derived from the schema (`orkesta_auth.<schema>`). */
  readonly channel?: string | undefined;
  /**
   * How often the listening connection is checked with a `SELECT 1`, in ms: one that does not
   * answer within the statement timeout is dropped and reconnected. Default 15,000.
   */
  readonly heartbeatMs?: number | undefined;
  /** Backoff of the listening connection's reconnection, in ms. Default `{ min: 100, max: 5000 }`. */
  readonly reconnectDelayMs?: ReconnectDelay | undefined;
  /** Bring the schema up to date before the first query. Default `false`: operations reject until it is. */
  readonly migrate?: boolean | undefined;
  /** `application_name` of the connections; the listening one adds `-listen`. Default `orkesta-auth`. */
  readonly applicationName?: string | undefined;
  /**
   * Told of failures nobody awaits: the listening connection (it reconnects by itself), a
   * malformed notification (ignored), an idle connection of the store's own pool.
   */
  readonly onError?: PostgresErrorHandler | undefined;
}

const OPTION_NAMES: readonly (keyof PostgresKeyStoreOptions)[] = [
  'pool',
  'connectionString',
  'schema',
  'statementTimeoutMs',
  'connectTimeoutMs',
  'poolMax',
  'channel',
  'heartbeatMs',
  'reconnectDelayMs',
  'migrate',
  'applicationName',
  'onError',
];

const RECONNECT_DELAY_NAMES: readonly (keyof ReconnectDelay)[] = ['min', 'max'];

/** How much longer than `statement_timeout` the client waits before giving a query up. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

function reconnectDelay(value: unknown): ReconnectDelay {
  if (value === undefined) return { min: 100, max: 5_000 };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('reconnectDelayMs must be { min, max } in milliseconds');
  }
  rejectUnknownOptions(value, RECONNECT_DELAY_NAMES, 'reconnectDelayMs');
  const { min, max } = value as Partial<ReconnectDelay>;
  const checked = {
    min: positiveInteger(min, 'reconnectDelayMs.min', 100, MAX_TIMER_MS),
    max: positiveInteger(max, 'reconnectDelayMs.max', 5_000, MAX_TIMER_MS),
  };
  if (checked.min > checked.max) {
    throw new ConfigurationError(
      `reconnectDelayMs.min (${checked.min}) must not be greater than reconnectDelayMs.max (${checked.max})`,
    );
  }
  return checked;
}

/** A connection that died under a query; a read may safely be tried again on another one. */
function isConnectionLoss(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === '57P01' || code === '57P02') return true;
    if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  }
  return (
    typeof message === 'string' &&
    (message === 'Connection terminated unexpectedly' ||
      message.startsWith('Client has encountered a connection error'))
  );
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A `KeyStore` in PostgreSQL, for several instances sharing keys. Every query is parameterised;
 * the schema name is validated once and quoted. `changes` is a LISTEN/NOTIFY feed, so a key
 * revoked through one instance is dropped from every instance's cache.
 */
export class PostgresKeyStore implements KeyStore {
  readonly schema: string;
  readonly changes: PostgresChangeFeed;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #table: string;
  readonly #migrateOnUse: boolean;
  readonly #onError: PostgresErrorHandler | undefined;
  /** What a closed store's errors name: `the PostgresKeyStore on schema "orkesta_auth"`. */
  readonly #what: string;
  #verified = false;
  #checking: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresKeyStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(
        'options are required: new PostgresKeyStore({ connectionString }) or ({ pool })',
      );
    }
    rejectUnknownOptions(options, OPTION_NAMES);
    const { pool, connectionString } = options;
    if ((pool === undefined) === (connectionString === undefined)) {
      throw new ConfigurationError(
        'give exactly one of pool (a pg.Pool of your own) and connectionString (a postgres:// URL)',
      );
    }
    this.schema = validateSchemaName(options.schema);
    this.#what = `the PostgresKeyStore on schema "${this.schema}"`;
    this.#table = `${quoteIdentifier(this.schema)}.api_keys`;
    const channel =
      options.channel === undefined
        ? defaultChannel(this.schema)
        : validateChannel(options.channel);
    const connectTimeoutMs = positiveInteger(
      options.connectTimeoutMs,
      'connectTimeoutMs',
      5_000,
      MAX_TIMER_MS,
    );
    const delay = reconnectDelay(options.reconnectDelayMs);
    const heartbeatMs = positiveInteger(options.heartbeatMs, 'heartbeatMs', 15_000, MAX_TIMER_MS);
    if (options.migrate !== undefined && typeof options.migrate !== 'boolean') {
      throw new ConfigurationError(`migrate must be true or false; got ${String(options.migrate)}`);
    }
    this.#migrateOnUse = options.migrate === true;
    const applicationName = options.applicationName ?? 'orkesta-auth';
    if (typeof applicationName !== 'string' || applicationName.length === 0) {
      throw new ConfigurationError('applicationName must be a non-empty string');
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new ConfigurationError('onError must be a function (error, { operation }) => void');
    }
    this.#onError = options.onError;

    let listenConfig: () => pg.ClientConfig;
    let statementTimeoutMs: number;
    if (pool !== undefined) {
      if (!isPool(pool)) throw new ConfigurationError('pool must be a pg.Pool');
      for (const name of ['statementTimeoutMs', 'poolMax'] as const) {
        if (options[name] !== undefined) {
          throw new ConfigurationError(
            `${name} applies to the pool the store makes from connectionString; for your own pool set ${name === 'poolMax' ? 'max' : 'statement_timeout'} in its options`,
          );
        }
      }
      this.#pool = pool;
      this.#ownsPool = false;
      statementTimeoutMs = 2_000;
      listenConfig = () => ({
        ...pool.options,
        // The pool keeps the password out of its enumerable options.
        password: pool.options?.password,
        connectionTimeoutMillis: connectTimeoutMs,
        application_name: `${applicationName}-listen`,
        keepAlive: true,
      });
    } else {
      if (typeof connectionString !== 'string' || connectionString.length === 0) {
        throw new ConfigurationError('connectionString must be a non-empty postgres:// URL');
      }
      statementTimeoutMs = positiveInteger(
        options.statementTimeoutMs,
        'statementTimeoutMs',
        2_000,
        MAX_TIMER_MS,
      );
      const poolMax = positiveInteger(options.poolMax, 'poolMax', 10, MAX_TIMER_MS);
      this.#pool = new pg.Pool({
        connectionString,
        max: poolMax,
        statement_timeout: statementTimeoutMs,
        query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
        connectionTimeoutMillis: connectTimeoutMs,
        application_name: applicationName,
        keepAlive: true,
      });
      this.#ownsPool = true;
      // An idle connection that fails is dropped by the pool; unheard, the event would crash.
      this.#pool.on('error', (error) => this.#report(error, 'pool'));
      listenConfig = () => ({
        connectionString,
        connectionTimeoutMillis: connectTimeoutMs,
        application_name: `${applicationName}-listen`,
        keepAlive: true,
      });
    }

    this.changes = new PostgresChangeFeed({
      pool: this.#pool,
      channel,
      clientConfig: listenConfig,
      reconnectDelay: delay,
      heartbeatMs,
      queryTimeoutMs: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
      what: `the change feed of ${this.#what}`,
      report: (error, operation) => this.#report(error, operation),
      // A listener that throws is never silent: without onError, FeedSubscribers warns.
      reportListener:
        options.onError === undefined ? undefined : (error) => this.#report(error, 'notification'),
    });
  }

  /** The pool the store queries through: yours, or the one it made. */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /** The LISTEN/NOTIFY channel of the change feed. */
  get channel(): string {
    return this.changes.channel;
  }

  /** Brings the schema up to date (see `migrate`); resolves to the versions applied. */
  async migrate(): Promise<MigrationResult> {
    this.#assertOpen();
    const result = await migrate({ pool: this.#pool, schema: this.schema });
    this.#verified = true;
    return result;
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    this.#assertOpen();
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const { rows } = await this.#query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ${this.#table} WHERE id = $1`,
      [id],
      true,
    );
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    this.#assertOpen();
    try {
      await this.#query(
        `INSERT INTO ${this.#table} (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          record.id,
          record.workspaceId,
          record.name,
          record.scope,
          record.environment,
          record.hash,
          record.createdAt,
          record.expiresAt,
          record.revokedAt,
          record.lastUsedAt,
          record.rotatedFromId,
          rateLimitJson(record.rateLimit),
        ],
        false,
      );
    } catch (error) {
      const state = sqlState(error);
      if (state === '23505') {
        throw new KeyManagementError(
          'duplicate_key_id',
          `a key with id ${record.id} already exists`,
        );
      }
      if (state === '23502' || state === '23514') {
        throw new KeyManagementError(
          'invalid_key_parameters',
          `key ${record.id} is missing a field or has a scope or environment the store does not know`,
        );
      }
      throw error;
    }
  }

  async list(query: ListKeysQuery): Promise<KeyPage> {
    this.#assertOpen();
    const after = checkListQuery(query);
    const { limit, status, workspaceId } = query;
    // Placeholders numbered in the order their values are pushed.
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const text = listKeysSql(this.#table, {
      workspaceId: workspaceId === undefined ? undefined : param(workspaceId),
      status,
      // Only the conditions that read it get one: PostgreSQL refuses a parameter no one uses.
      now: status === 'active' || status === 'expired' ? param(query.now) : undefined,
      after:
        after === undefined
          ? undefined
          : { createdAt: param(after.createdAt), id: param(after.id) },
      fetch: param(limit + 1),
    });
    const { rows } = await this.#query<KeyRow>(text, values, true);
    return pageOf(rows, limit, recordFromRow);
  }

  async update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined> {
    this.#assertOpen();
    const values: unknown[] = [id];
    const sets: string[] = [];
    if (changes.revokedAt !== undefined) {
      values.push(changes.revokedAt);
      sets.push(`revoked_at = $${values.length}`);
    }
    if (changes.expiresAt !== undefined) {
      values.push(changes.expiresAt);
      sets.push(`expires_at = $${values.length}`);
    }
    if (changes.rateLimit !== undefined) {
      values.push(rateLimitJson(changes.rateLimit));
      sets.push(`rate_limit = $${values.length}`);
    }
    if (sets.length === 0) return this.findById(id);
    const { rows } = await this.#query<KeyRow>(
      `UPDATE ${this.#table} SET ${sets.join(', ')} WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
      values,
      false,
    );
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  async recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void> {
    this.#assertOpen();
    if (batch.size === 0) return;
    await this.#query(
      `UPDATE ${this.#table} AS k SET last_used_at = greatest(k.last_used_at, b.used_at)
       FROM unnest($1::text[], $2::timestamptz[]) AS b(id, used_at)
       WHERE k.id = b.id AND (k.last_used_at IS NULL OR k.last_used_at < b.used_at)`,
      [[...batch.keys()], [...batch.values()]],
      false,
    );
  }

  /** Stops the change feed's connection, and ends the pool if the store made it (never yours). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.changes.close();
    if (this.#ownsPool) await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    read: boolean,
  ): Promise<pg.QueryResult<R>> {
    await this.#ready();
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      // A connection that died while idle in the pool: a read goes once more, on a fresh one.
      if (read && isConnectionLoss(error)) return await this.#pool.query<R>(text, values);
      const state = sqlState(error);
      if (state === '42P01' || state === '3F000') {
        // The tables are gone: say why, if the schema's version tells.
        this.#verified = false;
        await this.#ready();
      }
      throw error;
    }
  }

  /** Resolves once the schema is at the version this package needs (migrating it if asked to). */
  async #ready(): Promise<void> {
    this.#assertOpen();
    if (this.#verified) return;
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    await this.#checking;
  }

  async #check(): Promise<void> {
    if (this.#migrateOnUse) {
      await migrate({ pool: this.#pool, schema: this.schema });
    } else {
      const version = await readSchemaVersion(this.#pool, this.schema);
      if (version !== SCHEMA_VERSION) {
        throw new SchemaVersionError(this.schema, version, SCHEMA_VERSION);
      }
    }
    this.#verified = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.#what);
  }

  #report(error: unknown, operation: PostgresErrorOperation): void {
    try {
      this.#onError?.(error, { operation });
    } catch {
      // A failing reporter must not take the store down with it.
    }
  }
}
