import { spawnSync } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateKeyStore, openKeyStore, parseStoreSpec } from '@orkesta/auth-cli';
import { createKeyManager } from '@orkesta/auth-express';
import {
  REPOSITORY_ROOT,
  runToEnd,
  spawnDemo,
  temporaryDirectory,
} from '@orkesta/example-shared/testing';
import { describe, expect, it } from 'vitest';
import { send } from '../../../test/http.js';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import { freshSchemas } from './postgres-schemas.js';

const clusterFile = fileURLToPath(new URL('../dist/cluster.js', import.meta.url));
const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

/** A GET with `key`, on a connection of its own, so that the workers share the requests. */
async function get(
  url: string,
  key: string,
): Promise<{ status: number; code: string; worker: string }> {
  const res = await send(url, {
    path: '/v1/accounts',
    headers: { authorization: `Bearer ${key}` },
  });
  return {
    status: res.status,
    code: (res.json as { code?: string }).code ?? 'ok',
    worker: String(res.headers['x-demo-worker']),
  };
}

describe.runIf(available)(
  'pnpm start:cluster: two workers on PostgreSQL and Redis act as one',
  () => {
    const storeFor = freshSchemas('cluster');

    it('a limit of 50 admits exactly 50 of 200 concurrent requests; a CLI revocation is refused by every worker within 1 s', async () => {
      const store = storeFor();
      const spec = parseStoreSpec(store);
      await migrateKeyStore(spec);
      const env = { ORKESTA_AUTH_STORE: store, ORKESTA_AUTH_REDIS: REDIS_URL };
      const demo = await spawnDemo(['node', clusterFile], { ...env, PORT: '0', WORKERS: '2' });
      const opened = await openKeyStore(spec);
      try {
        const output = demo.output();
        expect(output).toContain('2 worker processes on one port share the key store and Redis');
        expect(output).toContain('kept in Redis, exact across instances');
        const keys = createKeyManager({ store: opened.store });
        const limited = await keys.create({
          workspaceId: 'ws_demo',
          name: 'limited',
          scope: 'read-only',
          rateLimit: { limit: 50, windowSeconds: 3_600 },
        });
        // 200 at once, each on its own connection: the workers take turns at accepting them.
        const answers = await Promise.all(
          Array.from({ length: 200 }, () => get(demo.url, limited.key)),
        );
        const counts = new Map<string, number>();
        for (const { code } of answers) counts.set(code, (counts.get(code) ?? 0) + 1);
        // Limits kept per worker would admit up to 100.
        expect(Object.fromEntries(counts)).toEqual({ ok: 50, rate_limit_exceeded: 150 });
        // Both workers answered, admissions and refusals alike.
        expect(new Set(answers.map((a) => a.worker)).size).toBe(2);

        const target = await keys.create({
          workspaceId: 'ws_demo',
          name: 'revoked-by-cli',
          scope: 'read-only',
          rateLimit: { limit: 100_000, windowSeconds: 60 },
        });
        // Cached by both workers.
        for (let i = 0; i < 10; i++) expect((await get(demo.url, target.key)).code).toBe('ok');
        const cli = spawnSync(
          process.execPath,
          ['scripts/orkesta-auth.mjs', 'keys', 'revoke', target.record.id],
          { cwd: REPOSITORY_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' },
        );
        expect(cli.stderr).toBe('');
        expect(cli.status).toBe(0);
        const revokedAt = performance.now();
        // Four requests at a time on fresh connections, for 1.5 s: after 1 s, none admitted.
        let lastAdmitted = 0;
        let last = { status: 0, code: '' };
        const refusedBy = new Set<string>();
        while (performance.now() - revokedAt < 1_500) {
          const round = await Promise.all(
            Array.from({ length: 4 }, () => get(demo.url, target.key)),
          );
          for (const answer of round) {
            if (answer.code !== 'api_key_revoked') lastAdmitted = performance.now() - revokedAt;
            else refusedBy.add(answer.worker);
            last = { status: answer.status, code: answer.code };
          }
        }
        expect(lastAdmitted).toBeLessThan(1_000);
        expect(last).toEqual({ status: 401, code: 'api_key_revoked' });
        expect(refusedBy.size).toBe(2);
      } finally {
        await opened.close();
        expect(await demo.stop()).toBe(0);
      }
    }, 90_000);

    it('a worker that dies is replaced, and the cluster goes on serving', async () => {
      const dir = temporaryDirectory();
      const demo = await spawnDemo(['node', clusterFile], {
        ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`,
        ORKESTA_AUTH_REDIS: REDIS_URL,
        PORT: '0',
        WORKERS: '2',
      });
      try {
        const readOnly = /read-only\s+(ork_\S+)/.exec(demo.output())?.[1] ?? '';
        const first = await Promise.all(Array.from({ length: 8 }, () => get(demo.url, readOnly)));
        const pids = new Set(first.map((a) => a.worker));
        expect(pids.size).toBe(2);
        const [victim] = [...pids];
        process.kill(Number(victim), 'SIGKILL');
        // A connection handed to the worker as it was killed is never answered (node:cluster
        // cannot take it back): such requests are given up after 2 s.
        const answered = (request: Promise<Awaited<ReturnType<typeof get>>>) =>
          Promise.race([
            request,
            new Promise<undefined>((resolve) =>
              setTimeout(() => resolve(undefined), 2_000).unref(),
            ),
          ]);
        const seen = new Set<string>();
        for (let i = 0; i < 50 && seen.size < 2; i++) {
          const round = await Promise.all(
            Array.from({ length: 4 }, () => answered(get(demo.url, readOnly))),
          );
          for (const answer of round) {
            if (answer?.code === 'ok' && answer.worker !== victim) seen.add(answer.worker);
          }
        }
        expect(seen.size).toBe(2);
        expect(demo.output()).toMatch(
          new RegExp(`worker ${victim} stopped \\(SIGKILL\\); starting another`),
        );
      } finally {
        expect(await demo.stop()).toBe(0);
        dir.remove();
      }
    }, 90_000);

    it('a port in use: the cluster does not start, one line, exit status 1', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      const dir = temporaryDirectory();
      try {
        const ended = await runToEnd(['node', clusterFile], {
          ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`,
          ORKESTA_AUTH_REDIS: REDIS_URL,
          PORT: String(port),
        });
        expect(ended.code).toBe(1);
        expect(ended.stdout).toBe('');
        expect(ended.stderr.trim().split('\n')).toHaveLength(1);
        expect(ended.stderr).toContain('set PORT');
      } finally {
        blocker.close();
        dir.remove();
      }
    });

    it('without ORKESTA_AUTH_REDIS it does not start: one line naming it, exit status 2', async () => {
      const ended = await runToEnd(['node', clusterFile], {
        ORKESTA_AUTH_STORE: 'sqlite:/tmp/orkesta-cluster-unused.db',
        PORT: '0',
      });
      expect(ended.code).toBe(2);
      expect(ended.stdout).toBe('');
      expect(ended.stderr.trim().split('\n')).toHaveLength(1);
      expect(ended.stderr).toContain('ORKESTA_AUTH_REDIS');
    });
  },
);
