import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import './run-cli.js'; // fails early, saying so, when the CLI is not built

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function pnpm(args: readonly string[], cwd = ROOT) {
  const { ORKESTA_AUTH_STORE: _store, INIT_CWD: _initCwd, ...env } = process.env;
  const result = spawnSync('pnpm', [...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) throw result.error;
  return result;
}

describe('pnpm orkesta-auth at the repository root', () => {
  it('--help works', () => {
    const run = pnpm(['orkesta-auth', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: orkesta-auth <command>/);
  });

  it('keys list --json prints only the JSON on stdout (pnpm writes its banner to stderr)', () => {
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    const created = pnpm([
      ...['orkesta-auth', 'keys', 'create', '--json', '--store', store],
      ...['--workspace', 'ws_1', '--name', 'n', '--scope', 'admin'],
    ]);
    expect(created.status).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const listed = pnpm(['orkesta-auth', 'keys', 'list', '--json', '--store', store]);
    expect(listed.status).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((k) => k.id)).toEqual([id]);
  });

  it('a clone that is not built yet gets one line saying to build, not a stack trace', () => {
    const clone = tempDir();
    mkdirSync(join(clone, 'scripts'));
    copyFileSync(
      join(ROOT, 'scripts', 'orkesta-auth.mjs'),
      join(clone, 'scripts', 'orkesta-auth.mjs'),
    );
    const run = spawnSync(
      process.execPath,
      [join(clone, 'scripts', 'orkesta-auth.mjs'), 'keys', 'list'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^orkesta-auth: [^\n]*pnpm build[^\n]*\n$/);
  });
});
