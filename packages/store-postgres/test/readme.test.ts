import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as core from '@orkesta/auth';
import { createAuthenticator, createKeyManager } from '@orkesta/auth';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as postgres from '../src/index.js';
import { migrate, PostgresKeyStore } from '../src/index.js';
import {
  appName,
  available,
  backends,
  closeLater,
  newSchema,
  POSTGRES_URL,
  poolLater,
  rejection,
} from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function codeBlocks(): string[] {
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** The rows of the README table whose first column is a code span: name → second column. */
function tableRows(): Record<string, string> {
  return Object.fromEntries(
    [...readme.matchAll(/^\| `(\w+)`\s+\| (.+?)\s+\|/gm)].map((m) => [m[1], m[2]]),
  );
}

describe('README', () => {
  it('imports only what the packages export', () => {
    const modules: Record<string, object> = {
      '@orkesta/auth': core,
      '@orkesta/auth-store-postgres': postgres,
    };
    const imports = codeBlocks().flatMap((block) => [
      ...block.matchAll(/^import \{([^}]+)\} from '([^']+)';$/gm),
    ]);
    expect(imports.length).toBeGreaterThanOrEqual(2);
    for (const [, names, from] of imports) {
      const module = modules[from as string];
      expect(module, from).toBeDefined();
      for (const name of (names as string).split(',').map((n) => n.trim())) {
        expect(Object.keys(module as object), `${name} from ${from}`).toContain(name);
      }
    }
  });

  it('the options table lists every option the store accepts, with its default', async () => {
    expect(tableRows()).toEqual({
      connectionString: 'one of the two',
      pool: 'one of the two',
      schema: '`orkesta_auth`',
      migrate: '`false`',
      statementTimeoutMs: '`2000`',
      connectTimeoutMs: '`5000`',
      poolMax: '`10`',
      channel: '`orkesta_auth.<schema>`',
      heartbeatMs: '`15000`',
      reconnectDelayMs: '`{ min: 100, max: 5000 }`',
      applicationName: '`orkesta-auth`',
      onError: 'ignored; a throwing listener warned',
    });
    // Each is accepted (another name is refused: test/migrations.test.ts).
    const store = new PostgresKeyStore({
      connectionString: 'postgres://nobody@127.0.0.1:1/none',
      schema: 'orkesta_auth',
      migrate: false,
      statementTimeoutMs: 2_000,
      connectTimeoutMs: 5_000,
      poolMax: 10,
      channel: 'orkesta_auth.orkesta_auth',
      heartbeatMs: 15_000,
      reconnectDelayMs: { min: 100, max: 5_000 },
      applicationName: 'orkesta-auth',
      onError: () => {},
    });
    expect(store.channel).toBe('orkesta_auth.orkesta_auth');
    await store.close();
  });

  it('the CLI usage line and exit codes are those of --help', () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build first with \`pnpm build\``);
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout;
    const usage =
      readme
        .split('```sh\n')
        .find((block) => block.startsWith('orkesta-auth-postgres '))
        ?.split('\n')[0] ?? '';
    expect(usage).not.toBe('');
    expect(help).toContain(`Usage: ${usage}\n`);
    const codes = [...readme.matchAll(/^\| ([0-9])\s+\|/gm)].map((m) => m[1]);
    expect(codes).toEqual(['0', '1', '2']);
    for (const code of codes) expect(help).toMatch(new RegExp(`\\n\\s+${code}  \\S`));
  });
});

describe.skipIf(!available)('README claims against the server', () => {
  it('the first example: migrate, create, authenticate, revoke (on a schema of its own)', async () => {
    const schema = newSchema();
    const url = POSTGRES_URL;
    expect((await migrate({ connectionString: url, schema })).applied).toEqual([1]);
    const store = closeLater(new PostgresKeyStore({ connectionString: url, schema }));
    const auth = closeLater(createAuthenticator({ store }));
    const manager = createKeyManager({ store });
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
    });
    const result = await auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
    expect(result.ok && result.key.workspaceId).toBe('ws_1');
    await manager.revoke(record.id);
    const after = await auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
    expect(after.ok || after.error.code).toBe('api_key_revoked');
  });

  it('nothing connects until the first query or the first subscriber', async () => {
    const name = appName();
    const schema = newSchema();
    await migrate({ connectionString: POSTGRES_URL, schema });
    const store = closeLater(
      new PostgresKeyStore({ connectionString: POSTGRES_URL, schema, applicationName: name }),
    );
    expect(await backends(name)).toEqual([]);
    expect(await backends(`${name}-listen`)).toEqual([]);
    await store.findById('AAAAAAAAAAAA');
    expect(await backends(name)).toHaveLength(1);
  });

  it('a pool of your own set up as shown: the server cancels a longer statement (57014)', async () => {
    const pool = poolLater(
      new pg.Pool({
        connectionString: POSTGRES_URL,
        statement_timeout: 100,
        query_timeout: 1_000,
        connectionTimeoutMillis: 5_000,
      }),
    );
    const store = closeLater(new PostgresKeyStore({ pool, schema: newSchema(), migrate: true }));
    expect(await store.findById('AAAAAAAAAAAA')).toBeUndefined(); // migrations are not cut short
    expect(await rejection(pool.query('SELECT pg_sleep(1)'))).toBe('57014');
  });
});
