import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** A fresh temporary directory for this test, removed after it. */
export function useTempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'orkesta-sqlite-'));
    dirs.push(dir);
    return dir;
  };
}

const built = [
  new URL('../dist/index.js', import.meta.url),
  new URL('../../core/dist/index.js', import.meta.url),
];

/**
 * Child processes run the compiled package (Node 20 cannot load the TypeScript sources). The
 * root `pnpm test` builds first; run `pnpm build` before running this package's tests alone.
 */
export function assertBuilt(): void {
  const missing = built.filter((file) => !existsSync(file)).map((file) => fileURLToPath(file));
  if (missing.length > 0) {
    throw new Error(
      `the multi-process tests run the built packages, and ${missing.join(', ')} is missing: run \`pnpm build\` first`,
    );
  }
}

/** The script child processes run: `fixtures/child.mjs`. */
export const CHILD_SCRIPT = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));

export type Reply = { ok: true; [field: string]: unknown } | { ok: false; code: string };

/** A child Node process running `fixtures/child.mjs`: another service on the same machine. */
export class ChildStore {
  readonly #process: ChildProcess;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #next = 0;
  stderr = '';
  /** Resolves to the exit code when the child exits. */
  readonly exited: Promise<number | null>;

  constructor() {
    assertBuilt();
    this.#process = fork(CHILD_SCRIPT, [], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.#process.on('message', (message: { n: number; reply: Reply }) => {
      this.#pending.get(message.n)?.(message.reply);
      this.#pending.delete(message.n);
    });
    this.exited = new Promise((resolve) => this.#process.once('exit', resolve));
    this.#process.on('exit', (code) => {
      for (const resolve of this.#pending.values()) {
        resolve({ ok: false, code: `child exited with ${code}: ${this.stderr}` });
      }
      this.#pending.clear();
    });
  }

  /** Sends one command and resolves to the child's reply. */
  request(command: Record<string, unknown>): Promise<Reply> {
    const n = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(n, resolve);
      this.#process.send({ n, command });
    });
  }

  /** Like `request`, but rejects unless the child answered ok. */
  async run(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await this.request(command);
    if (!reply.ok) throw new Error(`child: ${command.op} failed with ${reply.code}`);
    return reply;
  }

  kill(): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill();
  }
}

/** Children started in this file, killed after each test whatever happened. */
export function useChildren(): () => ChildStore {
  const children: ChildStore[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill();
  });
  return () => {
    const child = new ChildStore();
    children.push(child);
    return child;
  };
}
