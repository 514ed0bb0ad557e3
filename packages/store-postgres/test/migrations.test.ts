import { ConfigurationError, createAuthenticator, createKeyManager } from '@orkesta/auth';
import { sampleKeyRecord } from '@orkesta/auth/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, PostgresKeyStore, SCHEMA_VERSION, SchemaVersionError } from '../src/index.js';
import {
  admin,
  available,
  closeLater,
  codeOf,
  newSchema,
  openStore,
  POSTGRES_URL,
  poolLater,
  rejection,
} from './helpers.js';

async function tables(schema: string): Promise<string[]> {
  const { rows } = await admin.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
    [schema],
  );
  return rows.map((row) => row.table_name);
}

async function versions(schema: string): Promise<number[]> {
  const { rows } = await admin.query<{ version: number }>(
    `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows.map((row) => row.version);
}

describe.skipIf(!available)('migrations', () => {
  it('bring a fresh schema to the current version, with the listing indexes', async () => {
    const schema = newSchema();
    const result = await migrate({ connectionString: POSTGRES_URL, schema });
    expect(result).toEqual({ schema, applied: [1], version: SCHEMA_VERSION });
    expect(await tables(schema)).toEqual(['api_keys', 'schema_migrations']);
    expect(await versions(schema)).toEqual([SCHEMA_VERSION]);
    const { rows } = await admin.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'api_keys' ORDER BY indexname",
      [schema],
    );
    const definitions = rows.map((row) => row.indexdef.replace(/^.* USING btree /, ''));
    expect(definitions).toEqual([
      '(created_at DESC, id)',
      '(id)',
      '(workspace_id, created_at DESC, id)',
    ]);
    const applied = await admin.query(`SELECT applied_at FROM "${schema}".schema_migrations`);
    expect(applied.rows[0].applied_at).toBeInstanceOf(Date);
  });

  it('a second run applies nothing', async () => {
    const schema = newSchema();
    await migrate({ connectionString: POSTGRES_URL, schema });
    const again = await migrate({ connectionString: POSTGRES_URL, schema });
    expect(again).toEqual({ schema, applied: [], version: SCHEMA_VERSION });
    expect(await versions(schema)).toEqual([SCHEMA_VERSION]);
  });

  it('two concurrent migrations of a fresh schema both succeed, and apply each version once', async () => {
    const schema = newSchema();
    const pools = [1, 2].map(() =>
      poolLater(new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })),
    );
    const results = await Promise.all(pools.map((pool) => migrate({ pool, schema })));
    expect(results.map((r) => r.version)).toEqual([SCHEMA_VERSION, SCHEMA_VERSION]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual([1]);
    expect(await versions(schema)).toEqual([SCHEMA_VERSION]);
    expect(await tables(schema)).toEqual(['api_keys', 'schema_migrations']);
  });

  it('migrate() through a pool leaves the pool open', async () => {
    const pool = poolLater(new pg.Pool({ connectionString: POSTGRES_URL, max: 1 }));
    await migrate({ pool, schema: newSchema() });
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('an unmigrated schema: operations reject with the error that says to migrate; migrating fixes it in place', async () => {
    const schema = newSchema();
    const store = openStore({ schema });
    const failure = await store.findById('AAAAAAAAAAAA').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SchemaVersionError);
    expect(failure).toMatchObject({
      code: 'ERR_ORKESTA_AUTH_PG_SCHEMA',
      problem: 'not_migrated',
      foundVersion: 0,
      requiredVersion: SCHEMA_VERSION,
    });
    expect(await rejection(store.insert(sampleKeyRecord()))).toBe('ERR_ORKESTA_AUTH_PG_SCHEMA');
    expect(await rejection(store.list({ now: new Date(), limit: 1 }))).toBe(
      'ERR_ORKESTA_AUTH_PG_SCHEMA',
    );
    // Nothing was created behind the user's back.
    expect(await tables(schema)).toEqual([]);

    // Migrated from elsewhere (the CLI, another instance): this store works without a restart.
    await migrate({ connectionString: POSTGRES_URL, schema });
    expect(await store.findById('AAAAAAAAAAAA')).toBeUndefined();
    expect(await store.migrate()).toEqual({ schema, applied: [], version: SCHEMA_VERSION });
  });

  it('store.migrate() migrates its schema and reports the versions it applied', async () => {
    const schema = newSchema();
    const store = openStore({ schema });
    expect(await store.migrate()).toEqual({ schema, applied: [1], version: SCHEMA_VERSION });
    expect(await store.findById('AAAAAAAAAAAA')).toBeUndefined();
  });

  it('names the problem: not migrated, outdated, too new', () => {
    expect(new SchemaVersionError('s', 0, 2).problem).toBe('not_migrated');
    expect(new SchemaVersionError('s', 1, 2).problem).toBe('outdated');
    expect(new SchemaVersionError('s', 3, 2).problem).toBe('too_new');
    expect(new SchemaVersionError('s', 1, 2).code).toBe('ERR_ORKESTA_AUTH_PG_SCHEMA');
  });

  it('a store that was working learns that the tables are gone, and says so', async () => {
    const schema = newSchema();
    await migrate({ connectionString: POSTGRES_URL, schema });
    const store = openStore({ schema });
    expect(await store.findById('AAAAAAAAAAAA')).toBeUndefined();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    expect(await rejection(store.findById('AAAAAAAAAAAA'))).toBe('ERR_ORKESTA_AUTH_PG_SCHEMA');
  });

  it('an authenticator on an unmigrated store answers 503 and reports why through onError', async () => {
    const store = openStore({ schema: newSchema() });
    const migrated = openStore({ schema: newSchema(), migrate: true });
    const { key } = await createKeyManager({ store: migrated }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'admin',
    });
    const reported: unknown[] = [];
    const auth = closeLater(
      createAuthenticator({
        store,
        lastUsed: false,
        hooks: { onError: (error) => reported.push((error as { code?: unknown }).code) },
      }),
    );
    const result = await auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
    expect(codeOf(result)).toBe('auth_unavailable');
    expect(result.ok ? 0 : result.error.status).toBe(503);
    expect(reported).toEqual(['ERR_ORKESTA_AUTH_PG_SCHEMA']);
  });

  it('with migrate: true the store migrates before its first query', async () => {
    const schema = newSchema();
    const store = openStore({ schema, migrate: true });
    expect(await tables(schema)).toEqual([]); // not at construction
    await store.insert(sampleKeyRecord());
    expect(await versions(schema)).toEqual([SCHEMA_VERSION]);
  });

  it('a schema newer than the package is refused, by the store and by migrate()', async () => {
    const schema = newSchema();
    await migrate({ connectionString: POSTGRES_URL, schema });
    await admin.query(
      `INSERT INTO "${schema}".schema_migrations (version, applied_at) VALUES ($1, now())`,
      [SCHEMA_VERSION + 1],
    );
    const store = openStore({ schema });
    const failure = await store.findById('AAAAAAAAAAAA').catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'ERR_ORKESTA_AUTH_PG_SCHEMA',
      problem: 'too_new',
      foundVersion: SCHEMA_VERSION + 1,
    });
    const refused = await migrate({ connectionString: POSTGRES_URL, schema }).catch(
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'ERR_ORKESTA_AUTH_PG_SCHEMA', problem: 'too_new' });
    expect(await versions(schema)).toEqual([SCHEMA_VERSION, SCHEMA_VERSION + 1]);
    const eager = openStore({ schema, migrate: true });
    expect(await rejection(eager.findById('AAAAAAAAAAAA'))).toBe('ERR_ORKESTA_AUTH_PG_SCHEMA');
  });

  it('the table refuses a scope or environment it does not know (check constraints)', async () => {
    const store = openStore({ schema: newSchema(), migrate: true });
    expect(await rejection(store.insert(sampleKeyRecord({ scope: 'owner' as never })))).toBe(
      'invalid_key_parameters',
    );
    expect(
      await rejection(store.insert({ ...sampleKeyRecord(), environment: 'staging' as never })),
    ).toBe('invalid_key_parameters');
  });
});

describe.skipIf(!available)('the pool the store makes', () => {
  it('carries the statement timeout: a longer statement is cancelled by the server (57014)', async () => {
    const store = openStore({ schema: newSchema(), statementTimeoutMs: 150 });
    const shown = await store.pool.query('SHOW statement_timeout');
    expect(shown.rows[0].statement_timeout).toBe('150ms');
    expect(await rejection(store.pool.query('SELECT pg_sleep(2)'))).toBe('57014');
  });

  it('defaults to a 2-second statement timeout and 10 connections', async () => {
    const store = openStore({ schema: newSchema() });
    const shown = await store.pool.query('SHOW statement_timeout');
    expect(shown.rows[0].statement_timeout).toBe('2s');
    expect(store.pool.options.max).toBe(10);
    const small = openStore({ schema: newSchema(), poolMax: 3 });
    expect(small.pool.options.max).toBe(3);
  });

  it('close() ends the pool it made, but never a pool you passed', async () => {
    const made = new PostgresKeyStore({ connectionString: POSTGRES_URL, schema: newSchema() });
    await made.close();
    expect(made.pool.ended).toBe(true);
    expect(await rejection(made.findById('AAAAAAAAAAAA'))).toBe('ERR_ORKESTA_AUTH_STORE_CLOSED');

    const pool = poolLater(new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }));
    const mine = new PostgresKeyStore({ pool, schema: newSchema(), migrate: true });
    expect(await mine.findById('AAAAAAAAAAAA')).toBeUndefined();
    await mine.close();
    expect(pool.ended).toBe(false);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('options are checked at construction', () => {
  const url = 'postgres://nobody@127.0.0.1:1/none';
  const cases: [string, unknown][] = [
    ['no options', undefined],
    ['neither pool nor connectionString', {}],
    ['both pool and connectionString', { pool: new pg.Pool(), connectionString: url }],
    ['a pool that is not one', { pool: {} }],
    ['an empty connectionString', { connectionString: '' }],
    ['a schema with capitals', { connectionString: url, schema: 'Keys' }],
    ['a schema with a quote', { connectionString: url, schema: 'a"b' }],
    ['a schema starting with pg_', { connectionString: url, schema: 'pg_keys' }],
    ['a schema of 64 characters', { connectionString: url, schema: 'a'.repeat(64) }],
    ['a statement timeout of 0', { connectionString: url, statementTimeoutMs: 0 }],
    ['a fractional statement timeout', { connectionString: url, statementTimeoutMs: 1.5 }],
    ['statementTimeoutMs with your own pool', { pool: new pg.Pool(), statementTimeoutMs: 100 }],
    ['poolMax with your own pool', { pool: new pg.Pool(), poolMax: 3 }],
    ['a pool of 0', { connectionString: url, poolMax: 0 }],
    ['an empty channel', { connectionString: url, channel: '' }],
    ['a channel over 63 bytes', { connectionString: url, channel: 'é'.repeat(32) }],
    [
      'a backoff whose min exceeds its max',
      { connectionString: url, reconnectDelayMs: { min: 10, max: 5 } },
    ],
    ['a backoff that is a number', { connectionString: url, reconnectDelayMs: 100 }],
    ['migrate that is not a boolean', { connectionString: url, migrate: 'yes' }],
    ['onError that is not a function', { connectionString: url, onError: 'log' }],
    ['an empty applicationName', { connectionString: url, applicationName: '' }],
    ['a misspelt option', { connectionString: url, statementTimeout: 100 }],
  ];
  it.each(cases)('refuses %s with a ConfigurationError', (_, options) => {
    expect(() => new PostgresKeyStore(options as never)).toThrow(ConfigurationError);
  });

  /** What `run` throws (or rejects with), as the fields a caller switches on. */
  async function refusal(run: () => unknown): Promise<Record<string, unknown>> {
    try {
      await run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      const { code, option, suggestion } = error as ConfigurationError;
      return { code, option, suggestion };
    }
    throw new Error('expected a ConfigurationError');
  }

  it.each<[string, Record<string, unknown>, string, string]>([
    ['statementTimeout', { statementTimeout: 100 }, 'statementTimeout', 'statementTimeoutMs'],
    ['a lowercase onerror', { onerror: () => {} }, 'onerror', 'onError'],
    ['shema', { shema: 'keys' }, 'shema', 'schema'],
    ['migrat', { migrat: true }, 'migrat', 'migrate'],
    [
      'reconnectDelayMs.mx',
      { reconnectDelayMs: { min: 10, mx: 50 } },
      'reconnectDelayMs.mx',
      'reconnectDelayMs.max',
    ],
  ])(
    'a misspelt store option (%s) names itself and the option it likely meant',
    async (_, typo, option, suggestion) => {
      expect(await refusal(() => new PostgresKeyStore({ connectionString: url, ...typo }))).toEqual(
        {
          code: 'ERR_ORKESTA_AUTH_CONFIG',
          option,
          suggestion,
        },
      );
    },
  );

  it.each<[string, string]>([
    ['connectTimeout', 'connectTimeoutMs'],
    ['connectionstring', 'connectionString'],
    ['schemas', 'schema'],
  ])(
    'a misspelt migrate() option (%s) names itself and the option it likely meant',
    async (option, suggestion) => {
      expect(await refusal(() => migrate({ connectionString: url, [option]: 1 } as never))).toEqual(
        { code: 'ERR_ORKESTA_AUTH_CONFIG', option, suggestion },
      );
    },
  );

  it('accepts the defaults, and derives a channel per schema', () => {
    const a = new PostgresKeyStore({ connectionString: url });
    const b = new PostgresKeyStore({ connectionString: url, schema: 'tenant_b' });
    const long = new PostgresKeyStore({ connectionString: url, schema: 'x'.repeat(63) });
    expect(a.schema).toBe('orkesta_auth');
    expect(a.channel).toBe('orkesta_auth.orkesta_auth');
    expect(b.channel).toBe('orkesta_auth.tenant_b');
    expect(Buffer.byteLength(long.channel)).toBeLessThanOrEqual(63);
    expect(new Set([a.channel, b.channel, long.channel]).size).toBe(3);
    return Promise.all([a.close(), b.close(), long.close()]);
  });

  it('migrate() refuses options it cannot use', async () => {
    const codeOfRejection = (options: unknown) =>
      migrate(options as never).then(
        () => 'resolved',
        (error: unknown) => (error instanceof ConfigurationError ? 'configuration' : 'other'),
      );
    expect(await codeOfRejection(undefined)).toBe('configuration');
    expect(await codeOfRejection({ schema: 'x' })).toBe('configuration');
    expect(await codeOfRejection({ connectionString: url, schema: 'Bad' })).toBe('configuration');
    expect(await codeOfRejection({ pool: {}, schema: 'x' })).toBe('configuration');
  });
});
