import { ConfigurationError } from '@orkesta/auth';
import { MAX_TIMER_MS, positiveInteger, rejectUnknownOptions } from '@orkesta/auth/store';
import pg from 'pg';
import { SchemaVersionError } from './errors.js';
import { quoteIdentifier, validateSchemaName } from './identifiers.js';

/** One step of the schema, applied once, in its own transaction. */
interface Migration {
  readonly version: number;
  /** The statements, given the quoted schema name. */
  readonly statements: (schema: string) => readonly string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (s) => [
      // COLLATE "C": ids compare byte by byte, so they are case-sensitive and sort the way
      // JavaScript compares strings, whatever the database's default collation.
      `CREATE TABLE ${s}.api_keys (
        id text COLLATE "C" PRIMARY KEY,
        workspace_id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('read-only', 'read-write', 'admin')),
        environment text NOT NULL CHECK (environment IN ('live', 'test')),
        hash text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        rotated_from_id text COLLATE "C",
        rate_limit jsonb CHECK (rate_limit IS NULL OR jsonb_typeof(rate_limit) = 'object')
      )`,
      `CREATE INDEX api_keys_workspace_created_idx ON ${s}.api_keys (workspace_id, created_at DESC, id)`,
      `CREATE INDEX api_keys_created_idx ON ${s}.api_keys (created_at DESC, id)`,
    ],
  },
];

/** The schema version this package reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Namespace of the advisory locks migrations take (the other key is the schema name's hash). */
const LOCK_CLASS = 0x6f726b61;

/** Migrations may run longer than the per-query limit of a store's pool: this is their own. */
const MIGRATION_QUERY_TIMEOUT_MS = 10 * 60_000;

export interface MigrateOptions {
  /** A pool to run on; it is left open. Give this or `connectionString`. */
  readonly pool?: pg.Pool | undefined;
  /** A connection URL; one connection is opened for the migration and closed after it. */
  readonly connectionString?: string | undefined;
  /** The schema to migrate. Default `orkesta_auth`. */
  readonly schema?: string | undefined;
  /** How long to wait for a connection, in ms. Default 10,000. */
  readonly connectTimeoutMs?: number | undefined;
}

const MIGRATE_OPTION_NAMES: readonly (keyof MigrateOptions)[] = [
  'pool',
  'connectionString',
  'schema',
  'connectTimeoutMs',
];

export interface MigrationResult {
  readonly schema: string;
  /** The versions this run applied, in order; empty when the schema was up to date. */
  readonly applied: readonly number[];
  /** The version the schema is at now. */
  readonly version: number;
}

interface Connection {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    config: pg.QueryConfig,
  ): Promise<pg.QueryResult<R>>;
}

/** Whether `value` looks like a pg Pool (duck-typed: another copy of pg makes other classes). */
export function isPool(value: unknown): value is pg.Pool {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as pg.Pool).query === 'function' &&
    typeof (value as pg.Pool).connect === 'function'
  );
}

/**
 * Brings `schema` to the version this package needs: creates the schema, its
 * `schema_migrations` table and the key tables. Each migration runs in its own transaction under
 * a transaction-scoped advisory lock on the schema, so concurrent migrators wait for each other
 * and each version is applied exactly once. Running it again applies nothing. A schema newer
 * than this package knows is refused with a `SchemaVersionError`.
 */
export async function migrate(options: MigrateOptions): Promise<MigrationResult> {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('migrate needs options: { pool } or { connectionString }');
  }
  rejectUnknownOptions(options, MIGRATE_OPTION_NAMES);
  const schema = validateSchemaName(options.schema);
  const connectTimeoutMs = positiveInteger(
    options.connectTimeoutMs,
    'connectTimeoutMs',
    10_000,
    MAX_TIMER_MS,
  );
  const { pool, connectionString } = options;
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new ConfigurationError('migrate needs exactly one of pool and connectionString');
  }
  if (pool !== undefined) {
    if (!isPool(pool)) throw new ConfigurationError('pool must be a pg.Pool');
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      return await migrateOn(client, schema);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // A connection whose transaction failed part-way is not handed back to the pool.
      client.release(failure);
    }
  }
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw new ConfigurationError('connectionString must be a non-empty postgres:// URL');
  }
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: connectTimeoutMs,
    fallback_application_name: 'orkesta-auth-migrate',
  });
  // Errors of an idle connection reach the query that follows; they must not crash the process.
  client.on('error', () => {});
  await client.connect();
  try {
    return await migrateOn(client, schema);
  } finally {
    await client.end().catch(() => {});
  }
}

async function migrateOn(connection: Connection, schema: string): Promise<MigrationResult> {
  const s = quoteIdentifier(schema);
  const run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    connection.query<R>({
      text,
      ...(values === undefined ? {} : { values }),
      query_timeout: MIGRATION_QUERY_TIMEOUT_MS,
    } as pg.QueryConfig);
  const applied: number[] = [];
  let version = 0;
  for (const migration of MIGRATIONS) {
    await run('BEGIN');
    try {
      await run('SET LOCAL statement_timeout = 0');
      await run('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
      const { rows } = await run<{ schema: string | null; migrations: string | null }>(
        'SELECT to_regnamespace($1)::text AS schema, to_regclass($2)::text AS migrations',
        [s, `${s}.schema_migrations`],
      );
      if (rows[0]?.schema === null) await run(`CREATE SCHEMA ${s}`);
      if (rows[0]?.migrations === null) {
        await run(
          `CREATE TABLE ${s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`,
        );
      }
      const found = await run<{ version: number }>(
        `SELECT coalesce(max(version), 0)::integer AS version FROM ${s}.schema_migrations`,
      );
      version = found.rows[0]?.version ?? 0;
      if (version > SCHEMA_VERSION) throw new SchemaVersionError(schema, version, SCHEMA_VERSION);
      if (version < migration.version) {
        for (const statement of migration.statements(s)) await run(statement);
        await run(`INSERT INTO ${s}.schema_migrations (version, applied_at) VALUES ($1, now())`, [
          migration.version,
        ]);
        applied.push(migration.version);
        version = migration.version;
      }
      await run('COMMIT');
    } catch (error) {
      await run('ROLLBACK').catch(() => {});
      throw error;
    }
  }
  return { schema, applied, version };
}

/** The version `schema` is at: 0 when it has no `schema_migrations` table (or no schema). */
export async function readSchemaVersion(pool: Connection, schema: string): Promise<number> {
  const s = quoteIdentifier(schema);
  const { rows } = await pool.query<{ present: boolean }>({
    text: 'SELECT to_regclass($1) IS NOT NULL AS present',
    values: [`${s}.schema_migrations`],
  });
  if (rows[0]?.present !== true) return 0;
  const found = await pool.query<{ version: number }>({
    text: `SELECT coalesce(max(version), 0)::integer AS version FROM ${s}.schema_migrations`,
  });
  return found.rows[0]?.version ?? 0;
}
