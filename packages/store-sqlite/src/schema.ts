import { ConfigurationError } from '@orkesta/auth';
import type Database from 'better-sqlite3';
import { SCHEMA_VERSION } from './constants.js';

/**
 * The migrations, in order: migration `n` (1-based) takes a file from schema version `n - 1` to
 * `n`. Append only; never edit one that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE api_keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    workspace_id    TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    scope           TEXT    NOT NULL CHECK (scope IN ('read-only', 'read-write', 'admin')),
    environment     TEXT    NOT NULL CHECK (environment IN ('live', 'test')),
    hash            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    last_used_at    INTEGER,
    rotated_from_id TEXT,
    rate_limit      TEXT    CHECK (rate_limit IS NULL OR json_valid(rate_limit))
  ) STRICT;
  CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at DESC, id);
  CREATE INDEX api_keys_by_created ON api_keys (created_at DESC, id);
  CREATE TABLE key_changes (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    key_ids    TEXT    NOT NULL,
    origin     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX key_changes_by_created ON key_changes (created_at);
  `,
];

if (MIGRATIONS.length !== SCHEMA_VERSION) throw new Error('SCHEMA_VERSION must count MIGRATIONS');

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function refuseNewer(version: number, filename: string): void {
  if (version > SCHEMA_VERSION) {
    throw new ConfigurationError(
      `${filename} has key store schema version ${version}, newer than the ${SCHEMA_VERSION} this version of @orkesta/auth-store-sqlite knows; upgrade @orkesta/auth-store-sqlite to open it`,
    );
  }
}

/**
 * Brings the file to SCHEMA_VERSION, one migration per `BEGIN IMMEDIATE` transaction. The
 * version is read again under the write lock, so processes opening a fresh file at once apply
 * each migration exactly once. Refuses a file newer than this package.
 */
export function migrate(db: Database.Database, filename: string): void {
  refuseNewer(userVersion(db), filename);
  const step = db.transaction((target: number) => {
    const current = userVersion(db);
    refuseNewer(current, filename);
    if (current >= target) return; // another process got there first
    db.exec(MIGRATIONS[target - 1] as string);
    db.pragma(`user_version = ${target}`);
  });
  for (let target = userVersion(db) + 1; target <= SCHEMA_VERSION; target++) {
    step.immediate(target);
  }
}
