import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Runs `pnpm start` from the repository root, as the README's quick start does, and collects
 * what the demo prints until its curl lines. It gets its own process group, so that stopping
 * it stops pnpm and the node process under it.
 */
function startDemo(): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn('pnpm', ['start'], {
    cwd: repositoryRoot,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('missing_api_key')) resolve({ child, output });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
}

describe('pnpm start (the demo), from the repository root', () => {
  let demo: { child: ChildProcess; output: string };
  beforeAll(async () => {
    demo = await startDemo();
  });
  afterAll(() => {
    const pid = demo?.child.pid;
    if (pid !== undefined) process.kill(-pid, 'SIGTERM');
  });

  it('says the HTTPS check is off, prints each key once, and its three curl lines do what they say', async () => {
    const { output } = demo;
    expect(output).toContain('HTTPS check is OFF');
    const keys = output.match(/ork_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}/g) ?? [];
    // Three keys in the table; the read-only key again in the two curl lines that send one.
    expect(new Set(keys).size).toBe(3);

    const curls = output.split('\n').filter((line) => line.trim().startsWith('curl '));
    expect(curls).toHaveLength(3);
    const answers = [];
    for (const line of curls) {
      const url = line.match(/(http:\/\/\S+)/)?.[1] ?? '';
      const authorization = line.match(/-H "Authorization: ([^"]+)"/)?.[1];
      const body = line.match(/-d '([^']+)'/)?.[1];
      const headers: Record<string, string> = {};
      if (authorization !== undefined) headers.Authorization = authorization;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(url, {
        method: line.includes('-X POST') ? 'POST' : 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const said = line.match(/# (\d{3})/)?.[1];
      answers.push([Number(said), res.status]);
    }
    expect(answers).toEqual([
      [200, 200],
      [403, 403],
      [401, 401],
    ]);
  });
});
