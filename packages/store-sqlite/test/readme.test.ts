import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as core from '@orkesta/auth';
import { createAuthenticator, createKeyManager } from '@orkesta/auth';
import * as expressAdapter from '@orkesta/auth-express';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import * as sqlite from '../src/index.js';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_POLL_INTERVAL_MS,
  openSqliteKeyStore,
  SqliteKeyStore,
} from '../src/index.js';
import { useTempDirs } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const tempDir = useTempDirs();

interface Server {
  close(): void;
  closeAllConnections(): void;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

function codeBlocks(): string[] {
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

describe('README', () => {
  it('imports only what the packages export', () => {
    const modules: Record<string, object> = {
      '@orkesta/auth': core,
      '@orkesta/auth-store-sqlite': sqlite,
      '@orkesta/auth-express': expressAdapter,
    };
    const imports = codeBlocks().flatMap((block) => [
      ...block.matchAll(/^import \{([^}]+)\} from '([^']+)';$/gm),
    ]);
    expect(imports.length).toBeGreaterThanOrEqual(4);
    for (const [, names, from] of imports) {
      const module = modules[from as string];
      expect(module, from).toBeDefined();
      for (const name of (names as string).split(',').map((n) => n.trim())) {
        expect(Object.keys(module as object), `${name} from ${from}`).toContain(name);
      }
    }
  });

  it('the options table lists every option, with the defaults the code has', () => {
    const rows = Object.fromEntries(
      [...readme.matchAll(/^\| `(\w+)`\s+\| ([^|]+?)\s+\|/gm)].map((m) => [m[1], m[2]]),
    );
    expect(rows).toEqual({
      filename: 'required',
      pollIntervalMs: `\`${DEFAULT_POLL_INTERVAL_MS}\``,
      busyTimeoutMs: `\`${DEFAULT_BUSY_TIMEOUT_MS}\``,
      onFeedError: 'a failed poll ignored, a throwing listener warned',
    });
    // Each is accepted, and nothing else is.
    const store = new SqliteKeyStore({
      filename: join(tempDir(), 'keys.db'),
      pollIntervalMs: 250,
      busyTimeoutMs: 5_000,
      onFeedError: () => {},
    });
    return store.close();
  });

  it('the first example: create, authenticate, revoke', async () => {
    const dir = tempDir();
    const store = new SqliteKeyStore({ filename: join(dir, '.orkesta', 'keys.db') });
    const manager = createKeyManager({ store });
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
    });
    const auth = createAuthenticator({ store });
    const result = await auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
    expect(result.ok && result.key.workspaceId).toBe('ws_1');
    await manager.revoke(record.id);
    const after = await auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
    expect(after.ok || after.error.code).toBe('api_key_revoked');
    await auth.close();
    await store.close();
    expect(readme).toContain('console.log(result.ok && result.key.workspaceId); // ws_1');
    expect(readme).toContain('console.log(after.ok || after.error.code); // api_key_revoked');
  });

  it('the Express example: admits a key of the scope, refuses one without, and a revoked one', async () => {
    const filename = join(tempDir(), '.orkesta', 'keys.db');
    const store = openSqliteKeyStore(filename);
    const manager = createKeyManager({ store });
    const app = express();
    const middleware = expressAdapter.orkestaAuth({ store, requireHttps: false });
    app.use(middleware);
    app.get(
      '/v1/accounts',
      expressAdapter.requireScope('read-only'),
      (req: { auth?: { workspaceId: string } }, res: { json(body: unknown): void }) => {
        res.json({ workspace: req.auth?.workspaceId });
      },
    );
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/accounts`;
    const get = async (key?: string) => {
      const response = await fetch(url, {
        headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-only',
    });
    expect(await get(key)).toEqual({ status: 200, body: { workspace: 'ws_1' } });
    expect((await get()).body.code).toBe('missing_api_key');
    await manager.revoke(record.id);
    expect(await get(key)).toMatchObject({ status: 401, body: { code: 'api_key_revoked' } });
    await middleware.authenticator.close();
    await store.close();
  });
});
