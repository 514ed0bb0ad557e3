import { existsSync } from 'node:fs';
import { ConfigurationError, type KeyStore } from '@orkesta/auth';
import { rejectUnknownOptions } from '@orkesta/auth/store';
import { describeError, PostgresKeyStore, SchemaVersionError } from '@orkesta/auth-store-postgres';
import {
  SCHEMA_VERSION as SQLITE_SCHEMA_VERSION,
  SqliteKeyStore,
} from '@orkesta/auth-store-sqlite';
import Database from 'better-sqlite3';
import { redact, type StoreSpec, storeLabel } from './store-spec.js';

/** Why a key store could not be opened. */
export type StoreOpenErrorCode =
  /** The PostgreSQL schema has no tables yet, or older ones: run `orkesta-auth migrate`. */
  | 'store_not_migrated'
  /** The store was written by a newer version of the package. */
  | 'store_too_new'
  /** The file cannot be opened, or the server cannot be reached or refused. */
  | 'store_unavailable';

/**
 * A key store that cannot be used. The message is one line, names the store by its label and
 * never contains a URL's password.
 */
export class StoreOpenError extends Error {
  readonly code: StoreOpenErrorCode;
  /** How messages name the store (password as `***`). */
  readonly store: string;

  constructor(code: StoreOpenErrorCode, store: string, message: string, cause: unknown) {
    super(message, { cause });
    this.code = code;
    this.store = store;
  }

  override get name(): string {
    return 'StoreOpenError';
  }
}

/** An open key store, and how to name and close it. */
export interface OpenedKeyStore {
  readonly store: KeyStore;
  readonly spec: StoreSpec;
  /** How messages name the store; never contains a password. */
  readonly label: string;
  /** Closes the store (its change feed, file or pool); calling it again does nothing. */
  close(): Promise<void>;
}

export interface OpenKeyStoreOptions {
  /**
   * PostgreSQL: bring the schema up to date first (SQLite files always migrate when opened).
   * Default `false`: an unmigrated schema is a `StoreOpenError` with code `store_not_migrated`.
   */
  readonly migrate?: boolean;
}

const OPEN_OPTION_NAMES: readonly (keyof OpenKeyStoreOptions)[] = ['migrate'];

/** Refuses options that are not `{ migrate? }`, a misspelt name among them. */
function checkOpenOptions(options: OpenKeyStoreOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigurationError('openKeyStore options must be { migrate? }');
  }
  rejectUnknownOptions(options, OPEN_OPTION_NAMES);
  if (options.migrate !== undefined && typeof options.migrate !== 'boolean') {
    throw new ConfigurationError(`migrate must be true or false; got ${String(options.migrate)}`);
  }
}

/** What `migrateKeyStore` did. */
export interface MigrationReport {
  readonly kind: StoreSpec['kind'];
  /** The store's label (no password). */
  readonly store: string;
  /** PostgreSQL only: the schema migrated. */
  readonly schema?: string;
  /** The versions this run applied, in order; empty when the store was up to date. */
  readonly applied: readonly number[];
  /** The version the store is at now. */
  readonly version: number;
}

const MIGRATE_HINT =
  'run `orkesta-auth migrate` with the same --store or ORKESTA_AUTH_STORE (where @orkesta/auth-cli is installed: `npx @orkesta/auth-cli migrate`, or `pnpm exec orkesta-auth migrate`; in the orkesta-auth repository: `pnpm orkesta-auth migrate`)';

/** `error` as a StoreOpenError naming `label`, in one line and without the password. */
function openFailure(error: unknown, spec: StoreSpec, label: string): StoreOpenError {
  if (error instanceof StoreOpenError) return error;
  if (error instanceof SchemaVersionError) {
    const where = `PostgreSQL schema "${error.schema}" at ${label}`;
    if (error.problem === 'too_new') {
      return new StoreOpenError(
        'store_too_new',
        label,
        `${where} is at version ${error.foundVersion}, newer than this @orkesta/auth-cli knows (${error.requiredVersion}): upgrade @orkesta/auth-cli`,
        error,
      );
    }
    return new StoreOpenError(
      'store_not_migrated',
      label,
      error.problem === 'not_migrated'
        ? `${where} has no orkesta-auth tables: ${MIGRATE_HINT}`
        : `${where} is at version ${error.foundVersion}, this orkesta-auth needs ${error.requiredVersion}: ${MIGRATE_HINT}`,
      error,
    );
  }
  const message = redact(describeError(error), spec).replace(/\s+/g, ' ').trim();
  const tooNew = spec.kind === 'sqlite' && / newer than /.test(message);
  return new StoreOpenError(
    tooNew ? 'store_too_new' : 'store_unavailable',
    label,
    spec.kind === 'sqlite' ? message : `cannot use the key store ${label}: ${message}`,
    error,
  );
}

function postgresStore(spec: Extract<StoreSpec, { kind: 'postgres' }>): PostgresKeyStore {
  return new PostgresKeyStore({
    connectionString: spec.url,
    schema: spec.schema,
    applicationName: 'orkesta-auth-cli',
    // Nobody awaits the listening connection; the CLI and demos learn of failures from queries.
    onError: () => {},
  });
}

/**
 * Opens the store `spec` names. SQLite: creates the file and its directory if missing and
 * migrates it (by design of the SQLite store). PostgreSQL: checks the schema (migrating it only
 * with `migrate: true`), so an unmigrated schema fails here, in one clear line, rather than at
 * the first request. Rejects with a `StoreOpenError`; options it does not know (a misspelt one
 * too) with a `ConfigurationError`.
 */
export async function openKeyStore(
  spec: StoreSpec,
  options: OpenKeyStoreOptions = {},
): Promise<OpenedKeyStore> {
  checkOpenOptions(options);
  const label = storeLabel(spec);
  if (spec.kind === 'sqlite') {
    let store: SqliteKeyStore;
    try {
      store = new SqliteKeyStore({ filename: spec.filename });
    } catch (error) {
      throw openFailure(error, spec, label);
    }
    return { store, spec, label, close: () => store.close() };
  }
  let store: PostgresKeyStore;
  try {
    store = postgresStore(spec);
  } catch (error) {
    throw openFailure(error, spec, label);
  }
  try {
    if (options.migrate === true) await store.migrate();
    // Any query checks the schema's version first; the smallest one will do.
    else await store.list({ limit: 1, now: new Date() });
  } catch (error) {
    await store.close().catch(() => {});
    throw openFailure(error, spec, label);
  }
  return { store, spec, label, close: () => store.close() };
}

/** The version a SQLite file is at before opening it (0 for a new file). */
function sqliteVersion(filename: string): number {
  if (!existsSync(filename)) return 0;
  const db = new Database(filename, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/**
 * Brings the store to the version this package needs and says what it did. SQLite files
 * migrate when opened; PostgreSQL runs its migrations under an advisory lock.
 */
export async function migrateKeyStore(spec: StoreSpec): Promise<MigrationReport> {
  const label = storeLabel(spec);
  if (spec.kind === 'sqlite') {
    let before: number;
    try {
      before = sqliteVersion(spec.filename);
    } catch {
      // Not a database, unreadable: opening it says which, in the store's own words.
      before = 0;
    }
    const opened = await openKeyStore(spec);
    await opened.close();
    const applied: number[] = [];
    for (let version = before + 1; version <= SQLITE_SCHEMA_VERSION; version++) {
      applied.push(version);
    }
    return { kind: 'sqlite', store: label, applied, version: SQLITE_SCHEMA_VERSION };
  }
  const store = (() => {
    try {
      return postgresStore(spec);
    } catch (error) {
      throw openFailure(error, spec, label);
    }
  })();
  try {
    const result = await store.migrate();
    return {
      kind: 'postgres',
      store: label,
      schema: result.schema,
      applied: result.applied,
      version: result.version,
    };
  } catch (error) {
    throw openFailure(error, spec, label);
  } finally {
    await store.close().catch(() => {});
  }
}
