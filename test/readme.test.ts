import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { KeyLookup } from '@orkesta/auth';
import {
  API_KEY_SCANNER_PATTERN,
  createKeyManager,
  createLocalChangeFeed,
  createSigningKeys,
  generateSigningKey,
  keyKind,
  MemoryKeyStore,
  parseApiKey,
  parseSignedKey,
  SIGNED_KEY_SCANNER_PATTERN,
} from '@orkesta/auth';
import { addApiKeyAuth, orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-express';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTRACT_CASES } from './contract-cases.js';
import { send } from './http.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('README claims', () => {
  it('the quick start is two command lines, the second the test command CI runs', () => {
    const section = readme.split('## Quick start')[1]!.split('\n## ')[0]!;
    const block = section.split('```sh\n')[1]!.split('```')[0]!.trim().split('\n');
    expect(block).toEqual([
      'npm install -g pnpm@12.4.2 && pnpm install && pnpm start',
      'pnpm test',
    ]);
  });

  it('the example key is a valid key, and the scanner pattern is the one exported', () => {
    const example = readme.match(/^ork_live_\S+$/m)?.[0] ?? '';
    expect(parseApiKey(example)).toMatchObject({ environment: 'live', id: example.slice(9, 21) });
    expect(readme).toContain(`\n${API_KEY_SCANNER_PATTERN.source}\n`);
  });

  it('the example signed key is a signed key, and its scanner pattern is the one exported', () => {
    const example = readme.match(/^orks_live_\S+$/m)?.[0] ?? '';
    expect(keyKind(example)).toBe('signed');
    expect(parseSignedKey(example)?.id).toBe(example.slice(10, 22));
    expect(SIGNED_KEY_SCANNER_PATTERN.test(example)).toBe(true);
    expect(API_KEY_SCANNER_PATTERN.test(example)).toBe(false);
    expect(readme).toContain(`\n${SIGNED_KEY_SCANNER_PATTERN.source}\n`);
  });

  it('the options tables of the root, Express and Koa READMEs list signedKeys', () => {
    for (const path of [
      '../README.md',
      '../packages/express/README.md',
      '../packages/koa/README.md',
    ]) {
      const text = readFileSync(new URL(path, import.meta.url), 'utf8');
      expect(text, path).toMatch(
        /^\| `signedKeys` +\| none: an `orks_` key is `invalid_api_key` +\|/m,
      );
    }
  });

  it('the Signed keys example: an issuer serving its JWKS, a service verifying against its URL', async () => {
    const block = readme.split('## Signed keys')[1]!.split('```ts\n')[1]!.split('```')[0]!;
    // The lines below are the README's; the one difference is the JWKS URL, served here over
    // loopback HTTP instead of https://keys.example.com.
    for (const line of [
      "  keys: [{ kid: '2026-11', privateKey: JSON.parse(process.env.SIGNING_KEY) }],",
      'const keys = createKeyManager({ store, signing });',
      "const { key } = await keys.create({ workspaceId, name, scope, kind: 'signed' }); // orks_live_…",
      "issuer.get('/.well-known/jwks.json', serveJwks(signing)); // the public keys, cacheable",
      "      jwks: { url: 'https://keys.example.com/.well-known/jwks.json' },",
    ]) {
      expect(block).toContain(line);
    }
    const env = { SIGNING_KEY: JSON.stringify(generateSigningKey({ kid: '2026-11' }).privateKey) };
    const store = new MemoryKeyStore();
    const changeFeed = createLocalChangeFeed();
    const [workspaceId, name, scope] = ['ws_1', 'edge-eu', 'read-write' as const];

    const signing = createSigningKeys({
      issuer: 'https://keys.example.com',
      audience: 'https://api.example.com',
      keys: [{ kid: '2026-11', privateKey: JSON.parse(env.SIGNING_KEY) }],
    });
    const keys = createKeyManager({ store, signing, changeFeed });
    const { key, record } = await keys.create({ workspaceId, name, scope, kind: 'signed' });
    expect(key.startsWith('orks_live_')).toBe(true);
    const issuer = express();
    issuer.get('/.well-known/jwks.json', serveJwks(signing));
    const issuerUrl = await listen(issuer);

    const app = express();
    app.use(
      orkestaAuth({
        store,
        changeFeed,
        requireHttps: false,
        signedKeys: {
          issuer: 'https://keys.example.com',
          audience: 'https://api.example.com',
          jwks: { url: `${issuerUrl}/.well-known/jwks.json` },
        },
      }),
    );
    app.get('/v1/payments', requireScope('read-write'), (req, res) => {
      res.json({ workspace: req.auth?.workspaceId });
    });
    const base = await listen(app);
    const get = () =>
      send(base, { path: '/v1/payments', headers: { Authorization: `Bearer ${key}` } });
    expect((await get()).json).toEqual({ workspace: 'ws_1' });
    await keys.revoke(record.id);
    expect(((await get()).json as { code: string }).code).toBe('api_key_revoked');
  });

  it('the OpenAPI example serves a document where /health is public and the rest needs a key', async () => {
    const block = readme.split('## OpenAPI')[1]!.split('```ts\n')[1]!.split('```')[0]!;
    const store = new MemoryKeyStore();
    const { key } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'docs',
      scope: 'read-only',
    });
    const ok = { '200': { description: 'OK' } };
    const document = {
      openapi: '3.1.0',
      info: { title: 'Payments', version: '1.0.0' },
      paths: {
        '/health': { get: { responses: ok } },
        '/openapi.json': { get: { responses: ok } },
        '/v1/payments': { get: { responses: ok } },
      },
    };
    const app = express();
    new Function('addApiKeyAuth', 'document', 'app', block)(addApiKeyAuth, document, app);
    app.get('/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.use(orkestaAuth({ store, requireHttps: false }));
    app.get('/v1/payments', (_req, res) => {
      res.json({ data: [] });
    });
    const base = await listen(app);
    const served = await send(base, { path: '/openapi.json' });
    expect(served.status).toBe(200);
    type Paths = Record<string, { get: { security: unknown } }>;
    const paths = (served.json as { paths: Paths }).paths;
    for (const [path, item] of Object.entries(paths)) {
      const needsKey = JSON.stringify(item.get.security) !== '[]';
      const bare = await send(base, { path });
      const keyed = await send(base, { path, headers: { Authorization: `Bearer ${key}` } });
      expect({ path, bare: bare.status, keyed: keyed.status }).toEqual({
        path,
        bare: needsKey ? 401 : 200,
        keyed: 200,
      });
    }
    expect(paths['/v1/payments']!.get.security).toEqual([{ orkestaApiKey: [] }]);
  });

  it('every row of the error contract table is a row the adapters are tested on', () => {
    const rows = [...readme.matchAll(/^\| \w+\s+\|.*\|\s*(\d{3})\s*\|\s*`(\w+)`\s*\|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const [, status, code] of rows) {
      const tested = CONTRACT_CASES.some(
        (c) => c.expect.status === Number(status) && c.expect.code === code,
      );
      expect(tested, `${status} ${code}`).toBe(true);
    }
  });

  it('the custom store of a few lines authenticates, refuses revoked and expired keys, fails closed', async () => {
    // Keys issued by KeyManager into one store, then read through a hand-written lookup that
    // returns rows the way a SQL driver does: snake_case columns, ISO strings, nulls.
    const issuer = new MemoryKeyStore();
    const manager = createKeyManager({ store: issuer });
    const rows = new Map<string, Record<string, unknown>>();
    let databaseDown = false;
    const db = {
      async query(_sql: string, [id]: [string]) {
        if (databaseDown) throw new Error('ECONNREFUSED');
        return rows.get(id);
      },
    };
    const copy = async (key: string, extra: Record<string, unknown> = {}) => {
      const record = (await issuer.findById(key.split('_')[2]!))!;
      rows.set(record.id, {
        id: record.id,
        workspace_id: record.workspaceId,
        scope: record.scope,
        hash: record.hash,
        expires_at: null,
        revoked_at: null,
        ...extra,
      });
      return key;
    };
    const issue = async () =>
      (await manager.create({ workspaceId: 'ws_1', name: 'readme', scope: 'read-write' })).key;
    const good = await copy(await issue());
    const revoked = await copy(await issue(), { revoked_at: '2026-01-01T00:00:00.000Z' });
    const expired = await copy(await issue(), { expires_at: '2001-01-01T00:00:00.000Z' });

    const store: KeyLookup = {
      async findById(id) {
        const row = await db.query('select * from api_keys where id = $1', [id]);
        return (
          row && {
            id: row.id as string,
            workspaceId: row.workspace_id as string,
            scope: row.scope as 'read-write',
            hash: row.hash as string,
            expiresAt: row.expires_at as string | null,
            revokedAt: row.revoked_at as string | null,
          }
        );
      },
    };
    const app = express();
    app.use(orkestaAuth({ store, requireHttps: false, cache: false }));
    app.post('/v1/payments', requireScope('read-write'), (req, res) => {
      res.json({ workspace: req.auth?.workspaceId });
    });
    const base = await listen(app);
    const post = (key: string) =>
      send(base, {
        method: 'POST',
        path: '/v1/payments',
        headers: { Authorization: `Bearer ${key}` },
      });

    expect((await post(good)).json).toEqual({ workspace: 'ws_1' });
    expect(((await post(revoked)).json as { code: string }).code).toBe('api_key_revoked');
    expect(((await post(expired)).json as { code: string }).code).toBe('api_key_expired');
    databaseDown = true;
    const down = await post(good);
    expect(down.status).toBe(503);
    expect((down.json as { code: string }).code).toBe('auth_unavailable');
  });

  it("app.use('/v1/workspaces/:workspaceId', orkestaAuth({ workspace })) sees the path's workspace", async () => {
    const store = new MemoryKeyStore();
    const { key } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'readme',
      scope: 'read-only',
    });
    const app = express();
    app.use(
      '/v1/workspaces/:workspaceId',
      orkestaAuth({
        store,
        requireHttps: false,
        workspace: (req) => req.params.workspaceId as string,
      }),
    );
    app.get('/v1/workspaces/:workspaceId/accounts', (_req, res) => {
      res.json({ ok: true });
    });
    const base = await listen(app);
    const own = await send(base, {
      path: '/v1/workspaces/ws_1/accounts',
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(own.status).toBe(200);
    const other = await send(base, {
      path: '/v1/workspaces/ws_2/accounts',
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(other.status).toBe(403);
    expect((other.json as { code: string }).code).toBe('workspace_mismatch');
  });
});

describe('what each adapter re-exports of the core', () => {
  it.each(['express', 'koa', 'nest'])(
    "the %s README names exactly the core's names its package re-exports",
    (adapter) => {
      const text = readFileSync(
        new URL(`../packages/${adapter}/README.md`, import.meta.url),
        'utf8',
      ).replace(/\s+/g, ' ');
      const sentence = text.slice(
        text.indexOf('Re-exported from the core:'),
        text.indexOf('Everything else is imported'),
      );
      const documented = [...sentence.matchAll(/`([\w$]+)`/g)].map((m) => m[1]!);
      const report = readFileSync(
        new URL(`../packages/${adapter}/api-report.md`, import.meta.url),
        'utf8',
      );
      const reExported = [
        ...report.matchAll(/^### `([\w$]+)`\n\nRe-exported from `@orkesta\/auth`\.$/gm),
      ].map((m) => m[1]!);
      expect(reExported.length).toBeGreaterThan(20);
      expect(documented.sort()).toEqual(reExported.sort());
    },
  );
});
