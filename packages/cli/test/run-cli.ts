import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The compiled binary: the tests run what users run. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
if (!existsSync(BIN)) {
  throw new Error(
    `${BIN} is missing: the CLI tests run the compiled binary; build first with \`pnpm build\` (tsc -b), as \`pnpm test\` does`,
  );
}

/** Every command, as the issue names them: the tests' own list, not the one the code has. */
export const COMMAND_PATHS: readonly (readonly string[])[] = [
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'show'],
  ['keys', 'revoke'],
  ['keys', 'rotate'],
  ['keys', 'verify'],
  ['migrate'],
];

/**
 * The password the PostgreSQL URLs of the tests carry (the server ignores it). No run of the CLI
 * may print it, whatever the command: every run is checked.
 */
export const PG_PASSWORD = 'pg-PW-never-printed-42';

function checked(run: Run): Run {
  expect(run.stdout + run.stderr).not.toContain(PG_PASSWORD);
  return run;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Variables on top of the tests' environment (without ORKESTA_AUTH_STORE, ORKESTA_AUTH_REDIS and INIT_CWD). */
  readonly env?: Record<string, string | undefined>;
  /** What stdin holds; empty by default. */
  readonly input?: string;
  readonly cwd?: string;
}

function environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // The tests' own runner may set these (pnpm sets INIT_CWD): each test says what it wants.
  const {
    ORKESTA_AUTH_STORE: _store,
    ORKESTA_AUTH_REDIS: _redis,
    INIT_CWD: _initCwd,
    ...inherited
  } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `orkesta-auth …args` to completion. */
export function cli(args: readonly string[], options: RunOptions = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: environment(options.env),
    input: options.input ?? '',
    cwd: options.cwd,
    timeout: 30_000,
  });
  if (result.error !== undefined) throw result.error;
  return checked({ status: result.status, stdout: result.stdout, stderr: result.stderr });
}

/** Runs `orkesta-auth …args` without blocking the test's event loop. */
export function cliAsync(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: environment(options.env),
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        resolve(checked({ status, stdout, stderr }));
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A run that succeeded, printing nothing on stderr. */
export function ok(run: Run): Run {
  expect(run.stderr, `stderr of a run that should succeed (exit ${run.status})`).toBe('');
  expect(run.status).toBe(0);
  return run;
}

/** The JSON a `--json` run printed, after checking it succeeded. */
export function json<T = Record<string, unknown>>(run: Run): T {
  return JSON.parse(ok(run).stdout) as T;
}

/** A failed run: exactly one line on stderr, `orkesta-auth: …`, nothing on stdout. */
export function failed(run: Run, status: number): string {
  expect(run.status, `exit code (stderr: ${run.stderr})`).toBe(status);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^orkesta-auth: [^\n]+\n$/);
  return run.stderr;
}
