import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '@orkesta/auth';
import { sampleKeyRecord } from '@orkesta/auth/testing';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqliteKeyStore } from '../src/index.js';
import { useChildren, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const child = useChildren();

/** Reads the file with a plain connection of its own. */
function inspect<T>(filename: string, read: (db: Database.Database) => T): T {
  const db = new Database(filename);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function tables(db: Database.Database): string[] {
  return db
    .prepare<[], string>(
      "SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') ORDER BY name",
    )
    .pluck()
    .all()
    .filter((name) => !name.startsWith('sqlite_'));
}

function configurationError(open: () => unknown): ConfigurationError {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('ERR_ORKESTA_AUTH_CONFIG');
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('migrations', () => {
  it('a fresh file gets the current schema version, both tables and the listing indexes, in WAL mode', async () => {
    const filename = join(tempDir(), 'keys.db');
    await new SqliteKeyStore({ filename }).close();
    expect(SCHEMA_VERSION).toBe(1);
    inspect(filename, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(tables(db)).toEqual([
        'api_keys',
        'api_keys_by_created',
        'api_keys_by_workspace',
        'key_changes',
        'key_changes_by_created',
      ]);
      const columns = db.prepare('PRAGMA index_xinfo(api_keys_by_workspace)').all() as {
        name: string | null;
        desc: number;
        key: number;
      }[];
      expect(columns.filter((c) => c.key === 1).map((c) => [c.name, c.desc])).toEqual([
        ['workspace_id', 0],
        ['created_at', 1],
        ['id', 0],
      ]);
    });
  });

  it('creates the parent directories of the file', async () => {
    const filename = join(tempDir(), '.orkesta', 'nested', 'keys.db');
    await new SqliteKeyStore({ filename }).close();
    expect(inspect(filename, (db) => db.pragma('user_version', { simple: true }))).toBe(
      SCHEMA_VERSION,
    );
  });

  it("keeps dates as epoch milliseconds, a key's own rate as JSON, and nulls as NULL", async () => {
    const filename = join(tempDir(), 'keys.db');
    const store = new SqliteKeyStore({ filename });
    const record = sampleKeyRecord({
      createdAt: new Date(1_767_225_600_001),
      expiresAt: new Date(1_767_225_600_002),
      rateLimit: { limit: 5, windowSeconds: 1, burst: 5 },
    });
    await store.insert(record);
    await store.close();
    expect(
      inspect(filename, (db) => db.prepare('SELECT * FROM api_keys WHERE id = ?').get(record.id)),
    ).toEqual({
      id: record.id,
      workspace_id: record.workspaceId,
      name: record.name,
      scope: record.scope,
      environment: record.environment,
      hash: record.hash,
      created_at: 1_767_225_600_001,
      expires_at: 1_767_225_600_002,
      revoked_at: null,
      last_used_at: null,
      rotated_from_id: null,
      rate_limit: '{"limit":5,"windowSeconds":1,"burst":5}',
    });
  });

  it('reopening is idempotent and keeps the data', async () => {
    const filename = join(tempDir(), 'keys.db');
    const record = sampleKeyRecord();
    const first = new SqliteKeyStore({ filename });
    await first.insert(record);
    await first.close();
    for (let i = 0; i < 3; i++) {
      const again = new SqliteKeyStore({ filename });
      expect(await again.findById(record.id)).toEqual(record);
      await again.close();
    }
    expect(inspect(filename, (db) => db.pragma('user_version', { simple: true }))).toBe(
      SCHEMA_VERSION,
    );
  });

  it('refuses a file of a newer schema version with a ConfigurationError, and leaves it alone', () => {
    const filename = join(tempDir(), 'keys.db');
    inspect(filename, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    const error = configurationError(() => new SqliteKeyStore({ filename }));
    expect(error.message).toContain(String(SCHEMA_VERSION + 1));
    inspect(filename, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
      expect(tables(db)).toEqual([]);
    });
  });

  it('refuses a file that is not a SQLite database with a ConfigurationError, and leaves it alone', () => {
    const filename = join(tempDir(), 'keys.db');
    const content = 'this is not a database, but it is long enough to have a header. '.repeat(4);
    writeFileSync(filename, content);
    configurationError(() => new SqliteKeyStore({ filename }));
    expect(readFileSync(filename, 'utf8')).toBe(content);
  });

  it('eight processes opening one fresh file at once all succeed, round after round', async () => {
    // Each round the children get their command at the same moment and race to create the
    // schema (and to switch the file to WAL, which SQLite does not wait for on its own).
    const children = Array.from({ length: 8 }, () => child());
    const dir = tempDir();
    for (let round = 0; round < 20; round++) {
      const filename = join(dir, `keys-${round}.db`);
      const replies = await Promise.all(
        children.map((c, i) => c.request({ op: 'touch', filename, name: `child-${i}` })),
      );
      expect(
        replies.filter((r) => !r.ok),
        `round ${round}`,
      ).toEqual([]);
      inspect(filename, (db) => {
        expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        expect(db.prepare('SELECT name FROM api_keys ORDER BY name').pluck().all()).toEqual(
          children.map((_, i) => `child-${i}`),
        );
      });
    }
  });
});
