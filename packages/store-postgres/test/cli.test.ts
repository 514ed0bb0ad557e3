import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/index.js';
import { admin, available, newSchema, POSTGRES_URL } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(CLI)) {
  throw new Error(
    `${CLI} is missing: the CLI tests run the compiled file; build first with \`pnpm build\` (tsc -b), as \`pnpm test\` does`,
  );
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Run {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...inherited, ...env },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

const PASSWORD = 'pw-S3cr3t-value';

describe.skipIf(!available)('orkesta-auth-postgres migrate', () => {
  it('migrates, then says it is up to date, exit 0 both times', async () => {
    const schema = newSchema();
    const first = cli(['migrate', '--url', POSTGRES_URL, '--schema', schema]);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(
      `schema ${schema}: applied version 1; now at version ${SCHEMA_VERSION}\n`,
    );
    expect(first.stderr).toBe('');
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations`);
    expect(rows).toEqual([{ version: SCHEMA_VERSION }]);

    const second = cli(['migrate', '--url', POSTGRES_URL, '--schema', schema]);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(`schema ${schema} is up to date (version ${SCHEMA_VERSION})\n`);
  });

  it('--json prints { schema, applied, version }', () => {
    const schema = newSchema();
    const first = cli(['migrate', '--url', POSTGRES_URL, '--schema', schema, '--json']);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ schema, applied: [1], version: SCHEMA_VERSION });
    const second = cli(['migrate', '--json', '--url', POSTGRES_URL, '--schema', schema]);
    expect(JSON.parse(second.stdout)).toEqual({ schema, applied: [], version: SCHEMA_VERSION });
  });

  it('reads DATABASE_URL when --url is not given', () => {
    const schema = newSchema();
    const run = cli(['migrate', '--schema', schema, '--json'], { DATABASE_URL: POSTGRES_URL });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).applied).toEqual([1]);
  });

  it('never prints the password of the URL', () => {
    const schema = newSchema();
    // The server trusts local connections, so a password is accepted and ignored.
    const ok = cli(['migrate', '--url', withPassword(POSTGRES_URL, PASSWORD), '--schema', schema]);
    expect(ok.status).toBe(0);
    const unreachable = withPassword('postgres://postgres@127.0.0.1:1/test', PASSWORD);
    const failed = cli(['migrate', '--url', unreachable]);
    expect(failed.status).toBe(1);
    // An error that would name it (here the host carries the same text) is redacted.
    const echoed = cli([
      'migrate',
      '--url',
      `postgres://postgres:${PASSWORD}@${PASSWORD}.invalid/test`,
    ]);
    expect(echoed.status).toBe(1);
    expect(echoed.stderr).toContain('***');
    // The same with the password as a query parameter, which pg also reads.
    const echoedQuery = cli([
      'migrate',
      '--url',
      `postgres://postgres@${PASSWORD}.invalid/test?password=${PASSWORD}`,
    ]);
    expect(echoedQuery.status).toBe(1);
    expect(echoedQuery.stderr).toContain('***');
    for (const run of [ok, failed, echoed, echoedQuery]) {
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    }
  });

  it('an unreachable server: exit 1 and one line on stderr', () => {
    const run = cli(['migrate', '--url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^orkesta-auth-postgres: /);
  });
});

describe('orkesta-auth-postgres usage', () => {
  it.each([
    ['an unknown flag', ['migrate', '--bogus']],
    ['no command', []],
    ['an unknown command', ['seed']],
    ['a stray argument', ['migrate', 'now']],
    ['--url without a value', ['migrate', '--url']],
    ['no URL and no DATABASE_URL', ['migrate']],
    [
      'a schema that is not a plain identifier',
      ['migrate', '--url', POSTGRES_URL, '--schema', 'Bad-Name'],
    ],
  ])('%s: exit 2 and one line on stderr', (_, args) => {
    const run = cli(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^orkesta-auth-postgres: .*\(see --help\)\n$/);
  });

  it('--help describes the command and its exit codes, exit 0', () => {
    const run = cli(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      'orkesta-auth-postgres migrate [--url URL] [--schema NAME] [--json]',
    );
    expect(run.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 /);
  });
});

describe('packaging', () => {
  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      PostgresKeyStore: 'function',
      migrate: 'function',
      SchemaVersionError: 'function',
      SCHEMA_VERSION,
    });
  });

  it('the compiled CLI starts with a node shebang', async () => {
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
