import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, createKeyManager } from '@orkesta/auth';
import { SCHEMA_VERSION as PG_VERSION } from '@orkesta/auth-store-postgres';
import { SCHEMA_VERSION as SQLITE_VERSION } from '@orkesta/auth-store-sqlite';
import { describe, expect, it } from 'vitest';
import {
  migrateKeyStore,
  type OpenedKeyStore,
  openKeyStore,
  resolveStoreSpec,
  StoreOpenError,
} from '../src/index.js';
import { adminPool, newSchema, postgresAvailable, postgresSpec, tempDir } from './helpers.js';

async function failure(promise: Promise<unknown>): Promise<StoreOpenError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StoreOpenError);
    return error as StoreOpenError;
  }
  throw new Error('resolved');
}

async function using<T>(opened: OpenedKeyStore, run: (o: OpenedKeyStore) => Promise<T>) {
  try {
    return await run(opened);
  } finally {
    await opened.close();
  }
}

describe('openKeyStore: SQLite', () => {
  it('creates the directory and the file, migrated; two opens of the spec share the keys', async () => {
    const root = tempDir();
    const spec = resolveStoreSpec(undefined, {}, { cwd: root });
    expect(spec).toEqual({ kind: 'sqlite', filename: join(root, '.orkesta/keys.db') });
    const first = await openKeyStore(spec);
    expect(existsSync(join(root, '.orkesta/keys.db'))).toBe(true);
    expect(first.label).toBe(`sqlite:${join(root, '.orkesta/keys.db')}`);
    const issued = await using(first, (o) =>
      createKeyManager({ store: o.store }).create({
        workspaceId: 'ws_1',
        name: 'n',
        scope: 'admin',
      }),
    );
    // Another process resolving the same spec from the same place opens the same file.
    const second = await openKeyStore(resolveStoreSpec(undefined, { INIT_CWD: root }));
    const found = await using(second, (o) => o.store.findById(issued.record.id));
    expect(found?.workspaceId).toBe('ws_1');
  });

  it('a file that is not a database is a StoreOpenError naming it', async () => {
    const file = join(tempDir(), 'not-a-db');
    writeFileSync(file, 'hello, this is text and not SQLite at all.................');
    const error = await failure(openKeyStore({ kind: 'sqlite', filename: file }));
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain(file);
    expect(error.message).not.toContain('\n');
  });

  it('migrateKeyStore reports the version, and what it applied', async () => {
    const spec = { kind: 'sqlite', filename: join(tempDir(), 'k.db') } as const;
    expect(await migrateKeyStore(spec)).toEqual({
      kind: 'sqlite',
      store: `sqlite:${spec.filename}`,
      applied: [1],
      version: SQLITE_VERSION,
    });
    expect((await migrateKeyStore(spec)).applied).toEqual([]);
  });
});

describe('openKeyStore: options', () => {
  it('refuses a misspelt option with a ConfigurationError naming it, before opening anything', async () => {
    const filename = join(tempDir(), 'keys.db');
    const error = await openKeyStore({ kind: 'sqlite', filename }, { migrat: true } as never).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({
      code: 'ERR_ORKESTA_AUTH_CONFIG',
      option: 'migrat',
      suggestion: 'migrate',
    });
    expect(existsSync(filename)).toBe(false);
  });
});

describe.skipIf(!postgresAvailable)('openKeyStore: PostgreSQL', () => {
  const PASSWORD = 'pg-Pa55word-xyz';

  it('an unmigrated schema fails in one line that says to run orkesta-auth migrate, with npm or pnpm', async () => {
    const schema = newSchema();
    const spec = resolveStoreSpec(postgresSpec(schema, PASSWORD), {});
    const error = await failure(openKeyStore(spec));
    expect(error.code).toBe('store_not_migrated');
    expect(error.message).toContain('npx @orkesta/auth-cli migrate');
    expect(error.message).toContain('pnpm exec orkesta-auth migrate');
    expect(error.message).toContain(schema);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain('\n');
    expect(error.store).not.toContain(PASSWORD);
    // Nothing was created by looking.
    const { rows } = await adminPool().query(
      'SELECT 1 FROM information_schema.schemata WHERE schema_name = $1',
      [schema],
    );
    expect(rows).toHaveLength(0);
  });

  it('migrate: true brings the schema up, and keys go through KeyManager', async () => {
    const schema = newSchema();
    const spec = resolveStoreSpec(undefined, { ORKESTA_AUTH_STORE: postgresSpec(schema) });
    const opened = await openKeyStore(spec, { migrate: true });
    const issued = await using(opened, (o) =>
      createKeyManager({ store: o.store }).create({
        workspaceId: 'ws_pg',
        name: 'n',
        scope: 'read-only',
      }),
    );
    const { rows } = await adminPool().query(`SELECT workspace_id FROM "${schema}".api_keys`);
    expect(rows).toEqual([{ workspace_id: 'ws_pg' }]);
    // Migrated, it opens without being asked to migrate.
    const again = await openKeyStore(spec);
    expect((await using(again, (o) => o.store.findById(issued.record.id)))?.scope).toBe(
      'read-only',
    );
  });

  it('migrateKeyStore applies the versions once', async () => {
    const schema = newSchema();
    const spec = resolveStoreSpec(postgresSpec(schema, PASSWORD), {});
    const first = await migrateKeyStore(spec);
    expect(first).toEqual({
      kind: 'postgres',
      store: expect.not.stringContaining(PASSWORD),
      schema,
      applied: [1],
      version: PG_VERSION,
    });
    expect((await migrateKeyStore(spec)).applied).toEqual([]);
  });

  it('an unreachable server is store_unavailable, without the password', async () => {
    const spec = resolveStoreSpec(`postgres://u:${PASSWORD}@127.0.0.1:1/x`, {});
    const error = await failure(openKeyStore(spec));
    expect(error.code).toBe('store_unavailable');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).toContain('127.0.0.1:1');
    const migrating = await failure(migrateKeyStore(spec));
    expect(migrating.code).toBe('store_unavailable');
    expect(migrating.message).not.toContain(PASSWORD);
  });
});
