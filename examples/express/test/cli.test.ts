import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scope } from '@orkesta/auth-express';
import { SCOPES, scopeSatisfies } from '@orkesta/auth-express';
import { ROUTES } from '@orkesta/example-shared';
import type { SpawnedDemo } from '@orkesta/example-shared/testing';
import {
  KEY_PATTERN,
  REPOSITORY_ROOT,
  runToEnd,
  sampleBody,
  spawnDemo,
  temporaryDirectory,
} from '@orkesta/example-shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const mainFile = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const cliFile = join(REPOSITORY_ROOT, 'packages/cli/dist/bin.js');

/**
 * The demo end to end, as a user drives it: the Express demo running on a temporary SQLite
 * store, and the `orkesta-auth` binary on the same store making and revoking keys.
 */
describe('the Express demo driven by the orkesta-auth CLI', () => {
  let dir: ReturnType<typeof temporaryDirectory>;
  let env: Record<string, string>;
  let demo: SpawnedDemo;
  const cli = async (...args: string[]) => {
    const ran = await runToEnd(['node', cliFile, ...args], env);
    expect(ran.code, ran.stderr).toBe(0);
    return ran.stdout;
  };
  /** `keys create … --json`: the key's id and plaintext. */
  const create = async (workspaceId: string, scope: Scope, name = `e2e-${scope}`) => {
    const made = JSON.parse(
      await cli(
        'keys',
        'create',
        '--workspace',
        workspaceId,
        '--name',
        name,
        '--scope',
        scope,
        '--json',
      ),
    ) as { id: string; key: string; workspaceId: string; scope: string; name: string };
    expect(made).toMatchObject({ workspaceId, scope, name });
    expect(made.key).toMatch(KEY_PATTERN);
    return made;
  };
  const get = (path: string, key: string) =>
    fetch(`${demo.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    dir = temporaryDirectory();
    env = { ORKESTA_AUTH_STORE: `sqlite:${join(dir.path, 'keys.db')}` };
    demo = await spawnDemo(['node', mainFile], { ...env, PORT: '0' });
  }, 60_000);
  afterAll(async () => {
    expect(await demo?.stop()).toBe(0);
    dir?.remove();
  });

  it('the CLI line the demo prints makes a key the running demo accepts at once', async () => {
    const line = demo
      .output()
      .split('\n')
      .find((l) => l.trim().startsWith('pnpm orkesta-auth keys create'));
    expect(line).toBeDefined();
    // Run as printed, through the root script, with --json added to read the key back.
    const words = line!.trim().split(/\s+/).slice(1);
    const ran = await runToEnd(
      ['pnpm', '--silent', ...words, '--json'],
      {},
      { cwd: REPOSITORY_ROOT },
    );
    expect(ran.code, ran.stderr).toBe(0);
    const made = JSON.parse(ran.stdout) as { key: string; workspaceId: string; scope: string };
    expect(made).toMatchObject({ workspaceId: 'ws_demo', scope: 'read-write' });

    const res = await fetch(`${demo.url}/v1/payments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${made.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ accountId: 'acc_ws_demo_main', amount: 12 }),
    });
    expect(res.status).toBe(201);
  });

  it('keys made with the CLI pass every route their scope allows and get 403 on the others', async () => {
    const workspaceId = 'ws_e2e';
    const keys = {} as Record<Scope, string>;
    for (const scope of SCOPES) keys[scope] = (await create(workspaceId, scope)).key;

    for (const route of ROUTES) {
      for (const scope of SCOPES) {
        // The routes that act on a key get one of their own, made with the CLI too.
        const path = route.path.includes(':id')
          ? route.path.replace(':id', (await create(workspaceId, 'read-only', 'target')).id)
          : route.path;
        const body = sampleBody(route, workspaceId);
        const res = await fetch(`${demo.url}${path}`, {
          method: route.method,
          headers: {
            Authorization: `Bearer ${keys[scope]}`,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const label = `${route.method} ${route.path} with ${scope}`;
        if (route.scope === 'public' || scopeSatisfies(scope, route.scope)) {
          expect(res.status, label).toBe(route.status);
        } else {
          expect(res.status, label).toBe(403);
          expect(((await res.json()) as { code: string }).code, label).toBe('insufficient_scope');
        }
      }
    }
  }, 120_000);

  it('a key revoked with the CLI is refused by the running demo within a second', async () => {
    const made = await create('ws_e2e_revoke', 'read-only');
    // In the demo's cache now: only the store's change feed can tell it.
    expect((await get('/v1/accounts', made.key)).status).toBe(200);
    expect((await get('/v1/accounts', made.key)).status).toBe(200);

    await cli('keys', 'revoke', made.id);
    const revokedAt = Date.now();
    let res = await get('/v1/accounts', made.key);
    while (res.status === 200 && Date.now() - revokedAt < 1000) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      res = await get('/v1/accounts', made.key);
    }
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(((await res.json()) as { code: string }).code).toBe('api_key_revoked');
  });

  it('a key the demo made is listed by the CLI, and neither shows a secret', async () => {
    const admin = /admin\s+(ork_\S+)/.exec(demo.output())?.[1] ?? '';
    const listed = await cli('keys', 'list', '--workspace', 'ws_demo', '--json');
    expect(listed).toContain(admin.split('_')[2]);
    expect(listed).not.toContain(admin.slice(22));
    const res = await get('/v1/api-keys', admin);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain(admin.slice(22));
  });
});
