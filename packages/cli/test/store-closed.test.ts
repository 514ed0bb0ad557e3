import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type CliIo, EXIT_CODES, run } from '../src/index.js';
import { newSchema, postgresAvailable, postgresSpec, tempDir } from './helpers.js';

/** While on, every store the CLI opens is closed before the command uses it. */
const closing = vi.hoisted(() => ({ on: false }));

vi.mock('../src/open-store.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/open-store.js')>();
  return {
    ...actual,
    openKeyStore: async (...args: Parameters<typeof actual.openKeyStore>) => {
      const opened = await actual.openKeyStore(...args);
      // Closed under the command, as a store whose process is shutting down would be.
      if (closing.on) await opened.close();
      return opened;
    },
  };
});

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process, `line` on its stdin. */
async function cli(argv: readonly string[], line?: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    readLine: async () => line,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

const BACKENDS = [
  { name: 'SQLite', available: true, fresh: () => `sqlite:${join(tempDir(), 'keys.db')}` },
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    fresh: () => postgresSpec(newSchema()),
  },
] as const;

describe.each(BACKENDS)('a store closed under a command ($name)', (backend) => {
  it.skipIf(!backend.available)(
    'every command exits 3 (the store cannot be used), never 2 (usage)',
    async () => {
      const store = backend.fresh();
      closing.on = false;
      expect((await cli(['migrate', '--store', store])).code).toBe(0);
      const created = await cli([
        ...['keys', 'create', '--store', store, '--json'],
        ...['--workspace', 'ws_1', '--name', 'erp', '--scope', 'admin'],
      ]);
      expect(created.code).toBe(0);
      const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
      closing.on = true;
      try {
        const commands: [readonly string[], string?][] = [
          [['keys', 'create', '--workspace', 'ws_1', '--name', 'n', '--scope', 'admin']],
          [['keys', 'list']],
          [['keys', 'show', id]],
          [['keys', 'revoke', id]],
          [['keys', 'rotate', id]],
          [['keys', 'verify'], key],
        ];
        for (const [argv, line] of commands) {
          const outcome = await cli([...argv, '--store', store], line);
          const what = argv.join(' ');
          expect(outcome.code, `${what}: ${outcome.stderr}`).toBe(3);
          expect(outcome.stdout, what).toBe('');
          expect(outcome.stderr, what).toMatch(
            /^orkesta-auth: the key store failed: the \w+KeyStore on [^\n]+ is closed; [^\n]+\n$/,
          );
        }
      } finally {
        closing.on = false;
      }
      // The store itself was fine all along: opened again, it still holds the key, unrevoked.
      const shown = await cli(['keys', 'show', id, '--store', store, '--json']);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id, status: 'active' });
    },
  );
});

it('exit 3 is documented as covering a closed store', () => {
  expect(EXIT_CODES.find((e) => e.code === 3)?.meaning).toContain('closed');
});
