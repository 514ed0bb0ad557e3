/**
 * `@orkesta/example-shared/testing`: the suites every example runs, so that the Express, Koa
 * and Nest examples are held to one behaviour. Call them inside a vitest file:
 *
 *     describePaymentsApi('Koa', (services) => listenHttp(createPaymentsApp(services).callback(), ...));
 *     describeDemoMain('Koa', fileURLToPath(new URL('../dist/main.js', import.meta.url)));
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { KeyManager, Scope } from '@orkesta/auth';
import { createKeyManager, SCOPES, scopeSatisfies } from '@orkesta/auth';
import type { OpenedKeyStore } from '@orkesta/auth-cli';
import { openKeyStore } from '@orkesta/auth-cli';
import type { OpenAPI } from 'openapi-types';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DemoServer, DemoServices } from './demo.js';
import { createDemoServices, DEMO_RATE_LIMITS, DEMO_WORKSPACE } from './demo.js';
import { DOCUMENTED_ROUTES, OPENAPI_PATH, openApiPath } from './openapi.js';
import type { RouteSpec } from './routes.js';
import { ROUTES } from './routes.js';

/** How long a test that starts demo processes may take: they start Node, and Nest, each time. */
const SPAWN_TIMEOUT_MS = 90_000;

/** The repository's root directory, where `pnpm start` is run. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Builds an example's app on the services and listens on 127.0.0.1, port 0. */
export type StartApp = (services: DemoServices) => Promise<DemoServer>;

/** The scanner pattern of a key, anchored nowhere: to find keys in output. */
export const KEY_PATTERN = /ork_(?:live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}/g;

/** A temporary directory, removed by the returned function. */
export function temporaryDirectory(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'orkesta-example-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Keys of each scope in a workspace of their own. */
interface Workspace {
  readonly id: string;
  readonly keys: Record<Scope, string>;
}

let workspaces = 0;
async function newWorkspace(keys: KeyManager): Promise<Workspace> {
  workspaces += 1;
  const id = `ws_${workspaces}_${Math.random().toString(36).slice(2, 8)}`;
  const issued: Partial<Record<Scope, string>> = {};
  for (const scope of SCOPES) {
    issued[scope] = (await keys.create({ workspaceId: id, name: `${id}-${scope}`, scope })).key;
  }
  return { id, keys: issued as Record<Scope, string> };
}

const idOf = (key: string): string => key.split('_')[2]!;

/** A body each POST route of ROUTES accepts, in the workspace `workspaceId`. */
export function sampleBody(route: RouteSpec, workspaceId: string): object | undefined {
  switch (`${route.method} ${route.path}`) {
    case 'POST /v1/payments':
      return { accountId: `acc_${workspaceId}_main`, amount: 10, description: 'coffee' };
    case 'POST /v1/webhooks':
      return { url: 'https://example.test/hook', events: ['payment.created'] };
    case 'POST /v1/api-keys':
      return { name: 'ci', scope: 'read-only' };
    default:
      return undefined;
  }
}

/**
 * The payments API of one example, over real HTTP, on a temporary SQLite store opened the way
 * the demo opens it: every route with every scope, without a key, workspace isolation, the key
 * routes, bad input, and keys created and revoked through another handle on the store (as the
 * CLI does) seen by the running app.
 */
export function describePaymentsApi(framework: string, start: StartApp): void {
  describe(`the payments API on ${framework}, over HTTP on a SQLite store`, () => {
    let dir: ReturnType<typeof temporaryDirectory>;
    let filename: string;
    let opened: OpenedKeyStore;
    let services: DemoServices;
    let server: DemoServer;
    let ws: Workspace;
    let other: Workspace;

    beforeAll(async () => {
      dir = temporaryDirectory();
      filename = join(dir.path, 'keys.db');
      opened = await openKeyStore({ kind: 'sqlite', filename });
      services = createDemoServices(opened.store);
      server = await start(services);
    });
    afterAll(async () => {
      await server?.close();
      await services?.authenticator.close();
      await opened?.close();
      dir?.remove();
    });
    beforeEach(async () => {
      ws = await newWorkspace(services.keys);
      other = await newWorkspace(services.keys);
    });

    const http = () => request(server.url);
    const call = (method: RouteSpec['method'], path: string, key?: string) => {
      const pending =
        http()[method === 'GET' ? 'get' : method === 'POST' ? 'post' : 'delete'](path);
      return key === undefined ? pending : pending.set('Authorization', `Bearer ${key}`);
    };
    /** A fresh key of `ws` for the routes that act on one (`:id`). */
    const pathOf = async (route: RouteSpec) => {
      if (!route.path.includes(':id')) return route.path;
      const victim = await services.keys.create({
        workspaceId: ws.id,
        name: 'victim',
        scope: 'read-only',
      });
      return route.path.replace(':id', victim.record.id);
    };

    it('GET /health is public', async () => {
      const res = await http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /openapi.json is public: valid OpenAPI 3.1, every route with the scope it needs', async () => {
      const res = await http().get(OPENAPI_PATH);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      await SwaggerParser.validate(structuredClone(res.body) as OpenAPI.Document);
      type Operation = { security?: unknown; 'x-orkesta-scope'?: string; responses: object };
      const paths = (res.body as { paths: Record<string, Record<string, Operation>> }).paths;
      const documented = Object.entries(paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((method) => ['get', 'post', 'delete'].includes(method))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual(
        DOCUMENTED_ROUTES.map((route) => `${route.method} ${openApiPath(route)}`).sort(),
      );
      for (const route of DOCUMENTED_ROUTES) {
        const operation = paths[openApiPath(route)]![route.method.toLowerCase()]!;
        const label = `${route.method} ${route.path}`;
        if (route.scope === 'public') {
          expect(operation.security, label).toEqual([]);
          continue;
        }
        expect(operation.security, label).toEqual([{ orkestaApiKey: [route.scope] }]);
        expect(operation['x-orkesta-scope'], label).toBe(route.scope);
        expect(Object.keys(operation.responses), label).toEqual(
          expect.arrayContaining(['401', '403', '429', '503']),
        );
      }
    });

    const guarded = ROUTES.filter((route) => route.scope !== 'public');
    const matrix = guarded.flatMap((route) =>
      SCOPES.map((keyScope) => ({ ...route, keyScope, need: route.scope as Scope })),
    );
    it.each(matrix)('$method $path with a $keyScope key', async (route) => {
      const body = sampleBody(route, ws.id);
      const pending = call(route.method, await pathOf(route), ws.keys[route.keyScope]);
      const res = body === undefined ? await pending : await pending.send(body);
      if (scopeSatisfies(route.keyScope, route.need)) {
        expect(res.status).toBe(route.status);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      } else {
        expect(res.status).toBe(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toBe('insufficient_scope');
        expect(res.headers['www-authenticate']).toContain(`scope="${route.need}"`);
      }
    });

    it.each(guarded)('$method $path without a key is 401 missing_api_key', async (route) => {
      const res = await call(route.method, await pathOf(route));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('missing_api_key');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    });

    it('answers plain HTTP: its HTTPS check is off, as the demo says', async () => {
      const res = await call('GET', '/v1/accounts', ws.keys['read-only']);
      expect(res.status).toBe(200);
      expect(res.body.data.map((a: { id: string }) => a.id)).toEqual([
        `acc_${ws.id}_main`,
        `acc_${ws.id}_usd`,
      ]);
    });

    it("keeps each workspace's data to its own keys", async () => {
      const created = await call('POST', '/v1/payments', ws.keys['read-write']).send({
        accountId: `acc_${ws.id}_main`,
        amount: 42,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ accountId: `acc_${ws.id}_main`, amount: 42 });

      const own = await call('GET', '/v1/payments', ws.keys['read-only']);
      expect(own.body.data.map((p: { id: string }) => p.id)).toEqual([created.body.id]);
      const report = await call('GET', '/v1/reports', ws.keys['read-only']);
      expect(report.body.data).toEqual({ payments: 1, totals: { TRY: 42 } });
      const theirs = await call('GET', '/v1/payments', other.keys.admin);
      expect(theirs.body.data).toEqual([]);

      // An account of another workspace cannot be paid from.
      const foreign = await call('POST', '/v1/payments', other.keys.admin).send({
        accountId: `acc_${ws.id}_main`,
        amount: 1,
      });
      expect(foreign.status).toBe(400);
      expect(foreign.body.code).toBe('invalid_request');

      const settings = await call('GET', '/v1/workspace/settings', other.keys.admin);
      expect(settings.body).toEqual({ name: other.id, defaultCurrency: 'TRY' });
      const listed = await call('GET', '/v1/api-keys', other.keys.admin);
      expect(new Set(listed.body.data.map((k: { workspaceId: string }) => k.workspaceId))).toEqual(
        new Set([other.id]),
      );
    });

    it('creates a key, returns its plaintext once, and the key works at once', async () => {
      const created = await call('POST', '/v1/api-keys', ws.keys.admin).send({
        name: 'production-erp-integration',
        scope: 'read-write',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'production-erp-integration',
        scope: 'read-write',
        workspaceId: ws.id,
        status: 'active',
        expiresAt: null,
      });
      expect(created.body.key).toMatch(/^ork_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
      expect(idOf(created.body.key)).toBe(created.body.id);

      const used = await call('POST', '/v1/payments', created.body.key).send({
        accountId: `acc_${ws.id}_usd`,
        amount: 5,
      });
      expect(used.status).toBe(201);

      const listed = await call('GET', '/v1/api-keys', ws.keys.admin);
      expect(listed.text).not.toContain(created.body.key);
      expect(listed.text).not.toContain('sha256');
      expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
      expect(listed.body.nextCursor).toBeNull();
      const stored = await services.keys.get(created.body.id);
      expect(stored).toMatchObject({ workspaceId: ws.id, scope: 'read-write', status: 'active' });
    });

    it('lists by status', async () => {
      await call('DELETE', `/v1/api-keys/${idOf(ws.keys['read-only'])}`, ws.keys.admin);
      const revoked = await call('GET', '/v1/api-keys?status=revoked', ws.keys.admin);
      expect(revoked.status).toBe(200);
      expect(revoked.body.data.map((k: { id: string }) => k.id)).toEqual([
        idOf(ws.keys['read-only']),
      ]);
      const active = await call('GET', '/v1/api-keys?status=active', ws.keys.admin);
      expect(active.body.data.map((k: { id: string }) => k.id).sort()).toEqual(
        [idOf(ws.keys.admin), idOf(ws.keys['read-write'])].sort(),
      );
    });

    it('revokes a key: refused at once, and other keys keep working', async () => {
      const victim = ws.keys['read-only'];
      expect((await call('GET', '/v1/accounts', victim)).status).toBe(200);

      const revoked = await call('DELETE', `/v1/api-keys/${idOf(victim)}`, ws.keys.admin);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: idOf(victim), status: 'revoked' });
      expect(revoked.body.revokedAt).toEqual(expect.any(String));

      const after = await call('GET', '/v1/accounts', victim);
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('api_key_revoked');
      expect((await call('GET', '/v1/accounts', ws.keys['read-write'])).status).toBe(200);
      expect((await services.keys.get(idOf(victim)))?.status).toBe('revoked');
    });

    it('rotates a key: the successor works, the old key stops at once without an overlap', async () => {
      const oldKey = ws.keys['read-write'];
      const rotated = await call('POST', `/v1/api-keys/${idOf(oldKey)}/rotate`, ws.keys.admin);
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({
        scope: 'read-write',
        rotatedFromId: idOf(oldKey),
        previous: { id: idOf(oldKey) },
      });
      expect(rotated.body.key).toMatch(/^ork_live_/);

      expect((await call('GET', '/v1/accounts', rotated.body.key)).status).toBe(200);
      const old = await call('GET', '/v1/accounts', oldKey);
      expect(old.status).toBe(401);
      expect(old.body.code).toBe('api_key_expired');
    });

    it('rotation with an overlap keeps the old key working during the window', async () => {
      const oldKey = ws.keys['read-only'];
      const rotated = await call('POST', `/v1/api-keys/${idOf(oldKey)}/rotate`, ws.keys.admin).send(
        { overlapSeconds: 3600 },
      );
      expect(rotated.status).toBe(201);
      expect(Date.parse(rotated.body.previous.expiresAt)).toBeGreaterThan(Date.now() + 3_500_000);
      expect((await call('GET', '/v1/accounts', oldKey)).status).toBe(200);
      // Inside its overlap, it is not rotated again: 409, and the successor to rotate is named.
      const again = await call('POST', `/v1/api-keys/${idOf(oldKey)}/rotate`, ws.keys.admin).send({
        overlapSeconds: 3600,
      });
      expect(again.status).toBe(409);
      expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(again.body.code).toBe('api_key_already_rotated');
      expect(again.body.detail).toContain(rotated.body.id);
    });

    it("cannot revoke or rotate another workspace's key: 404, and the key keeps working", async () => {
      const theirs = idOf(other.keys.admin);
      const revoke = await call('DELETE', `/v1/api-keys/${theirs}`, ws.keys.admin);
      expect(revoke.status).toBe(404);
      expect(revoke.body.code).toBe('api_key_not_found');
      const rotate = await call('POST', `/v1/api-keys/${theirs}/rotate`, ws.keys.admin);
      expect(rotate.status).toBe(404);
      expect(rotate.body.code).toBe('api_key_not_found');
      expect((await call('GET', '/v1/accounts', other.keys.admin)).status).toBe(200);
    });

    it('answers bad input with 400 problem+json', async () => {
      const admin = ws.keys.admin;
      const self = `/v1/api-keys/${idOf(admin)}/rotate`;
      const cases = [
        call('POST', '/v1/api-keys', admin).send({ name: 'x', scope: 'root' }),
        call('POST', '/v1/api-keys', admin).send({ name: '', scope: 'admin' }),
        call('POST', '/v1/api-keys', admin).send({
          name: 'x',
          scope: 'admin',
          expiresAt: '2001-01-01T00:00:00Z',
        }),
        call('POST', '/v1/api-keys', admin).send({ name: 'x', scope: 'admin', expiresAt: 'soon' }),
        call('POST', '/v1/api-keys', admin).send([1, 2]),
        call('GET', '/v1/api-keys?status=deleted', admin),
        call('GET', '/v1/api-keys?cursor=not-a-cursor', admin),
        call('POST', '/v1/payments', admin).send({ accountId: `acc_${ws.id}_main`, amount: -5 }),
        call('POST', '/v1/payments', admin).send({ accountId: `acc_${ws.id}_main` }),
        call('POST', '/v1/webhooks', admin).send({ url: 'ftp://example.test' }),
        call('POST', '/v1/webhooks', admin).send({ url: 'https://x.test', events: [''] }),
        call('POST', '/v1/payments', admin).set('Content-Type', 'application/json').send('{nope'),
        call('POST', self, admin).send({ overlapSeconds: -1 }),
        call('POST', self, admin).send({ overlapSeconds: 9e12 }),
      ];
      for (const res of await Promise.all(cases)) {
        expect(res.status, res.text).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(['invalid_request', 'invalid_key_parameters']).toContain(res.body.code);
        expect(res.body).toEqual({
          type: `urn:orkesta-auth:error:${res.body.code}`,
          title: expect.any(String),
          status: 400,
          detail: expect.any(String),
          code: res.body.code,
        });
      }
      // Nothing was made by any of them.
      const listed = await call('GET', '/v1/api-keys', admin);
      expect(listed.body.data).toHaveLength(3);
      expect((await call('GET', '/v1/payments', admin)).body.data).toEqual([]);
    });

    it('a body over 16 kB is refused with a 413 problem', async () => {
      const res = await call('POST', '/v1/webhooks', ws.keys.admin).send({
        url: 'https://example.test/hook',
        events: Array.from({ length: 2000 }, (_, i) => `event.${i}`),
      });
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalid_request');
    });

    it('rotating a revoked key is 409 api_key_not_active', async () => {
      const id = idOf(ws.keys['read-only']);
      await call('DELETE', `/v1/api-keys/${id}`, ws.keys.admin);
      const res = await call('POST', `/v1/api-keys/${id}/rotate`, ws.keys.admin);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('api_key_not_active');
      expect(res.body.detail).toEqual(expect.any(String));
    });

    it('an unknown route is 404 problem+json', async () => {
      const res = await call('GET', '/v1/nothing', ws.keys.admin);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('not_found');
    });

    it('a bad key is refused with its code, and no answer carries a key', async () => {
      const revoked = ws.keys['read-only'];
      await services.keys.revoke(idOf(revoked));
      const mistyped = `${ws.keys.admin.slice(0, -1)}${ws.keys.admin.endsWith('A') ? 'B' : 'A'}`;
      for (const [key, code] of [
        [mistyped, 'invalid_api_key'],
        [revoked, 'api_key_revoked'],
      ] as const) {
        const res = await call('GET', '/v1/accounts', key);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe(code);
        expect(res.text).not.toContain(key.slice(22));
        expect(JSON.stringify(res.headers)).not.toContain(key.slice(22));
      }
    });

    describe('with another handle on the store, as the CLI opens it', () => {
      let cli: OpenedKeyStore;
      let cliKeys: KeyManager;
      beforeEach(async () => {
        cli = await openKeyStore({ kind: 'sqlite', filename });
        cliKeys = createKeyManager({ store: cli.store });
      });
      afterEach(async () => {
        await cli?.close();
      });

      it('a key created there is accepted at once; revoked there, refused within a second', async () => {
        const issued = await cliKeys.create({
          workspaceId: ws.id,
          name: 'from-the-cli',
          scope: 'read-write',
        });
        const res = await call('POST', '/v1/webhooks', issued.key).send({
          url: 'https://example.test/hook',
        });
        expect(res.status).toBe(201);
        // Cached now: only the change feed can tell the app.
        expect((await call('GET', '/v1/accounts', issued.key)).status).toBe(200);

        await cliKeys.revoke(issued.record.id);
        const revokedAt = Date.now();
        let answer = await call('GET', '/v1/accounts', issued.key);
        while (answer.status === 200 && Date.now() - revokedAt < 1000) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          answer = await call('GET', '/v1/accounts', issued.key);
        }
        expect(answer.status).toBe(401);
        expect(answer.body.code).toBe('api_key_revoked');
      });
    });
  });
}

/** A port nobody listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A demo process started by `spawnDemo`, listening. */
export interface SpawnedDemo {
  readonly child: ChildProcess;
  /** The URL the demo printed. */
  readonly url: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Sends `signal` to its process group and resolves to its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A process that ended, and what it printed. */
export interface EndedProcess {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` (e.g. `['node', 'dist/main.js']` or `['pnpm', 'start']`) with `env` added to
 * this process's, in a process group of its own, and resolves once the demo's banner is out.
 */
export function spawnDemo(
  command: readonly [string, ...string[]],
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<SpawnedDemo> {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    process.kill(-child.pid!, signal);
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`the demo did not start within its time: ${output}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /payments API on (http:\/\/\S+)/.exec(output)?.[1];
      if (url !== undefined && output.includes('Stop with Ctrl+C.')) {
        clearTimeout(timer);
        resolve({ child, url, output: () => output, stop });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}: ${output}`));
    });
  });
}

/**
 * Runs `command` to its end with `env` added to this process's (a CLI command, or a demo that
 * is expected to stop before it listens), and collects what it printed.
 */
export function runToEnd(
  command: readonly [string, ...string[]],
  env: Record<string, string>,
  options: { cwd?: string } = {},
): Promise<EndedProcess> {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs the `curl` lines a banner printed, with fetch, and returns `[said, got]` status pairs:
 * what the comment at the end of each line promises, and what the demo answered.
 */
export async function runCurlLines(output: string): Promise<[number, number, string][]> {
  const curls = output.split('\n').filter((line) => line.trim().startsWith('curl '));
  const answers: [number, number, string][] = [];
  for (const line of curls) {
    const url = /(http:\/\/\S+)/.exec(line)?.[1] ?? '';
    const authorization = /-H "Authorization: ([^"]+)"/.exec(line)?.[1];
    const body = /-d '([^']+)'/.exec(line)?.[1];
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.Authorization = authorization;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url, {
      method: line.includes('-X POST') ? 'POST' : 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const said = /# (\d{3})(?: (\w+))?/.exec(line);
    const answer = (await res.json()) as { code?: string };
    answers.push([Number(said?.[1]), res.status, answer.code ?? said?.[2] ?? '']);
    if (said?.[2] !== undefined) expect(answer.code).toBe(said[2]);
  }
  return answers;
}

/**
 * An example's built main, started as a process on a temporary SQLite store named by
 * `ORKESTA_AUTH_STORE` and on the port `PORT` names: the first start mints and prints an admin
 * and a read-only key and three curl lines that do what they say; a later start mints nothing
 * and says how to make a key with the CLI; once the admin key is revoked, the next start mints
 * again; SIGTERM closes the server and the store, and the process exits 0; wrong variables are
 * one line on stderr and exit status 2. `rootScript` is the root package.json script that builds
 * and starts it (`start` for Express), run once with pnpm as a user would.
 */
/**
 * Sends `count` requests one after another with `key` to `url` and returns how many were
 * admitted, the first refusal, and how long it took (the limiter refills as time passes).
 */
export async function burst(
  url: string,
  key: string,
  count: number,
): Promise<{ admitted: number; refused: Response | undefined; elapsedMs: number }> {
  const started = performance.now();
  let admitted = 0;
  let refused: Response | undefined;
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
    if (res.status === 200) {
      admitted++;
      await res.arrayBuffer();
    } else {
      refused ??= res;
    }
  }
  return { admitted, refused, elapsedMs: performance.now() - started };
}

/** Checks that a burst on the demo's read-only key got exactly its rate, then 429 as the contract says. */
async function expectReadOnlyRate(url: string, readOnly: string): Promise<void> {
  const { limit, windowSeconds } = DEMO_RATE_LIMITS['read-only'];
  const result = await burst(`${url}/v1/accounts`, readOnly, limit + 10);
  // A burst of `limit`, then one more per `windowSeconds / limit`; the two curl lines with the
  // key (200, and 403 for scope: the rate step comes first) took two.
  const refilled = Math.floor(result.elapsedMs / ((windowSeconds * 1_000) / limit));
  expect(result.admitted).toBeGreaterThanOrEqual(limit - 2);
  expect(result.admitted).toBeLessThanOrEqual(limit - 2 + refilled);
  const refused = result.refused;
  if (refused === undefined) throw new Error('no refusal');
  expect(refused.status).toBe(429);
  expect(((await refused.json()) as { code: string }).code).toBe('rate_limit_exceeded');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(refused.headers.get('ratelimit-policy')).toBe(`"read-only";q=${limit};w=${windowSeconds}`);
}

/** What the demo suites may use besides SQLite files. */
export interface DemoServicesUnderTest {
  /** A Redis to run the `ORKESTA_AUTH_REDIS` tests on; without it they are skipped. */
  readonly redisUrl?: string | undefined;
}

export function describeDemoMain(
  framework: string,
  mainFile: string,
  rootScript: string,
  servicesUnderTest: DemoServicesUnderTest = {},
): void {
  const { redisUrl } = servicesUnderTest;
  describe(`${framework} demo main (${DEMO_WORKSPACE}, ORKESTA_AUTH_STORE, PORT)`, () => {
    let dir: ReturnType<typeof temporaryDirectory>;
    beforeEach(() => {
      dir = temporaryDirectory();
    });
    afterEach(() => dir.remove());

    it(
      'first start mints and prints keys once; a later start mints none and names the CLI',
      async () => {
        const filename = join(dir.path, 'nested', 'keys.db');
        const env = { ORKESTA_AUTH_STORE: `sqlite:${filename}` };
        const port = await freePort();
        const first = await spawnDemo(['node', mainFile], { ...env, PORT: String(port) });
        let output: string;
        try {
          output = first.output();
          expect(first.url).toBe(`http://127.0.0.1:${port}`);
          expect(output).toContain(`orkesta-auth demo (${framework})`);
          expect(output).toContain('HTTPS check is OFF');
          expect(output).toContain(filename);
          const printed = [...new Set(output.match(KEY_PATTERN))];
          expect(printed).toHaveLength(2);
          expect(await runCurlLines(output)).toEqual([
            [200, 200, ''],
            [403, 403, 'insufficient_scope'],
            [401, 401, 'missing_api_key'],
          ]);
          // The admin key printed is the store's admin key of ws_demo, and it manages keys.
          const admin = /admin\s+(ork_\S+)/.exec(output)?.[1] ?? '';
          const listed = await fetch(`${first.url}/v1/api-keys`, {
            headers: { Authorization: `Bearer ${admin}` },
          });
          expect(listed.status).toBe(200);
          const body = (await listed.json()) as { data: { name: string; scope: string }[] };
          expect(body.data.map((k) => [k.name, k.scope]).sort()).toEqual([
            ['demo-admin', 'admin'],
            ['demo-read-only', 'read-only'],
          ]);
        } finally {
          expect(await first.stop('SIGTERM')).toBe(0);
        }
        // Closed cleanly: the last connection to a WAL database checkpoints and removes the log.
        expect(existsSync(`${filename}-wal`)).toBe(false);
        expect(first.output()).toContain('SIGTERM: closing the server and the key store.');

        // HOST moves it off the default 127.0.0.1 (any 127.x address is loopback on Linux).
        const later = await spawnDemo(['node', mainFile], { ...env, PORT: '0', HOST: '127.0.0.2' });
        try {
          const again = later.output();
          expect(again.match(KEY_PATTERN)).toBeNull();
          // The CLI line names this store, since ORKESTA_AUTH_STORE did.
          expect(again).toContain(
            `pnpm orkesta-auth keys create --workspace ws_demo --name my-integration --scope read-write --store sqlite:${filename}\n`,
          );
          const adminId = /admin\s+ork_\w+?_(\w{12})_/.exec(output)?.[1];
          expect(again).toContain(`${adminId} (demo-admin)`);
          expect(later.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
          expect(later.url).not.toBe('http://127.0.0.2:0');
          expect((await fetch(`${later.url}/health`)).status).toBe(200);
          // Still the two keys: nothing was minted.
          const store = await openKeyStore({ kind: 'sqlite', filename });
          try {
            const keys = createKeyManager({ store: store.store });
            const page = await keys.list({ workspaceId: DEMO_WORKSPACE });
            expect(page.items).toHaveLength(2);
            // With its admin key revoked, the next start is a first start again.
            await keys.revoke(adminId!);
          } finally {
            await store.close();
          }
        } finally {
          expect(await later.stop('SIGINT')).toBe(0);
        }

        const third = await spawnDemo(['node', mainFile], { ...env, PORT: '0' });
        try {
          expect(new Set(third.output().match(KEY_PATTERN)).size).toBe(2);
          expect(third.output()).toContain('First start');
        } finally {
          await third.stop();
        }
      },
      SPAWN_TIMEOUT_MS,
    );

    it(
      `pnpm ${rootScript}, from the repository root, builds and starts it`,
      async () => {
        // A relative path, as the default `.orkesta/keys.db` is: it resolves against the
        // directory pnpm was run from (the root), not the example's, where the script runs.
        const relative = join('node_modules', '.cache', `orkesta-example-${randomUUID()}`);
        const cleanUp = () =>
          rmSync(join(REPOSITORY_ROOT, relative), { recursive: true, force: true });
        const demo = await spawnDemo(
          ['pnpm', rootScript],
          { ORKESTA_AUTH_STORE: `sqlite:${relative}/keys.db`, PORT: '0' },
          { cwd: REPOSITORY_ROOT },
        ).catch((error: unknown) => {
          cleanUp();
          throw error;
        });
        try {
          const output = demo.output();
          expect(output).toContain(`orkesta-auth demo (${framework})`);
          expect(output).toContain(
            `Key store: sqlite:${join(REPOSITORY_ROOT, relative, 'keys.db')}\n`,
          );
          expect(new Set(output.match(KEY_PATTERN)).size).toBe(2);
          expect(await runCurlLines(output)).toEqual([
            [200, 200, ''],
            [403, 403, 'insufficient_scope'],
            [401, 401, 'missing_api_key'],
          ]);
        } finally {
          await demo.stop();
          cleanUp();
        }
      },
      SPAWN_TIMEOUT_MS,
    );

    const rateCases = [
      {
        where: 'in this process',
        env: {},
        says: ['Rate limits per key: read-only 60/60s', 'kept in this process'],
      },
      // With ORKESTA_AUTH_REDIS (when the tests have a Redis): kept there, and said so.
      ...(redisUrl === undefined
        ? []
        : [
            {
              where: 'in Redis (ORKESTA_AUTH_REDIS)',
              env: { ORKESTA_AUTH_REDIS: redisUrl },
              says: [`Redis: ${redisUrl}`, 'kept in Redis, exact across instances'],
            },
          ]),
    ];
    it.each(rateCases)(
      'limits kept $where: the banner says so; a burst gets its rate, then 429 with Retry-After and the RateLimit fields',
      async ({ env, says }) => {
        const demo = await spawnDemo(['node', mainFile], {
          ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`,
          PORT: '0',
          ...env,
        });
        try {
          const output = demo.output();
          for (const said of says) expect(output).toContain(said);
          await runCurlLines(output);
          const readOnly = /read-only\s+(ork_\S+)/.exec(output)?.[1] ?? '';
          await expectReadOnlyRate(demo.url, readOnly);
        } finally {
          expect(await demo.stop()).toBe(0);
        }
      },
      SPAWN_TIMEOUT_MS,
    );

    it(
      'a Redis that cannot be reached is one line on stderr and exit status 1',
      async () => {
        const ended = await runToEnd(['node', mainFile], {
          ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`,
          ORKESTA_AUTH_REDIS: 'redis://127.0.0.1:1',
          PORT: '0',
        });
        expect(ended.code).toBe(1);
        expect(ended.stdout).toBe('');
        expect(ended.stderr.trim().split('\n')).toHaveLength(1);
        expect(ended.stderr).toMatch(
          /^demo: Redis at redis:\/\/127\.0\.0\.1:1 .*ORKESTA_AUTH_REDIS/,
        );
      },
      SPAWN_TIMEOUT_MS,
    );

    it(
      `a wrong variable through pnpm ${rootScript} is exit status 2 too, as the README says`,
      async () => {
        const ended = await runToEnd(
          ['pnpm', '--silent', rootScript],
          { ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`, PORT: 'http' },
          { cwd: REPOSITORY_ROOT },
        );
        expect(ended.code).toBe(2);
        expect(ended.stderr).toMatch(/^demo: PORT must be/m);
      },
      SPAWN_TIMEOUT_MS,
    );

    it(
      'a wrong PORT, ORKESTA_AUTH_STORE or ORKESTA_AUTH_REDIS is one line on stderr and exit status 2',
      async () => {
        const store = `sqlite:${join(dir.path, 'keys.db')}`;
        for (const env of [
          { ORKESTA_AUTH_STORE: store, PORT: 'http' },
          { ORKESTA_AUTH_STORE: store, PORT: '70000' },
          { ORKESTA_AUTH_STORE: 'mysql://localhost/keys', PORT: '0' },
          { ORKESTA_AUTH_STORE: store, PORT: '0', ORKESTA_AUTH_REDIS: 'http://127.0.0.1:6379' },
        ]) {
          const ended = await runToEnd(['node', mainFile], env);
          expect(ended.code, ended.stderr).toBe(2);
          expect(ended.stdout).toBe('');
          expect(ended.stderr.trim().split('\n')).toHaveLength(1);
          expect(ended.stderr).toMatch(/^demo: /);
        }
      },
      SPAWN_TIMEOUT_MS,
    );

    it(
      'a port already in use is one line on stderr and exit status 1',
      async () => {
        const blocker = createServer();
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        const address = blocker.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        try {
          const ended = await runToEnd(['node', mainFile], {
            ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}`,
            PORT: String(port),
          });
          expect(ended.code).toBe(1);
          expect(ended.stdout).toBe('');
          expect(ended.stderr.trim().split('\n')).toHaveLength(1);
          expect(ended.stderr).toContain('EADDRINUSE');
          expect(ended.stderr).toContain('set PORT');
        } finally {
          blocker.close();
        }
      },
      SPAWN_TIMEOUT_MS,
    );
  });
}
