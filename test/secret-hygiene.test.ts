import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import type { LoggerService } from '@nestjs/common';
import type { AuthResult, RateLimiter } from '@orkesta/auth';
import {
  API_KEY_SCANNER_PATTERN,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  generateApiKey,
  MemoryKeyStore,
  parseApiKey,
} from '@orkesta/auth';
import { KeyHasher } from '@orkesta/auth/store';
import { authErrorHandler, orkestaAuth as expressAuth, requireScope } from '@orkesta/auth-express';
import { orkestaAuth as koaAuth } from '@orkesta/auth-koa';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { SqliteKeyStore } from '@orkesta/auth-store-sqlite';
import express from 'express';
import Koa from 'koa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runningApp } from './adapters/harness.js';
import { CONTRACT_CASES, sendContractRequest } from './contract-cases.js';
import { createContractFixture } from './fixtures.js';
import type { RawResponse } from './http.js';
import { send } from './http.js';
import { ADAPTERS, capturingHooks, T0, UnreliableStore } from './security-fixtures.js';
import { POSTGRES_URL, serviceAvailable } from './services.js';

/**
 * No key's plaintext, nor its secret part, in anything the library or the frameworks around
 * it say: responses (status, headers, body), hook events, errors handed to `onError` (message,
 * stack, cause, `util.inspect`), console output, direct writes to stdout and stderr, and
 * Nest's logger. The adapter suites run here with all of that captured, in development mode
 * (where Express's final handler logs error stacks and puts them in the body), and then every
 * public object is printed every way Node prints things.
 */

/** Everything the process said while the suites below ran. */
const said: string[] = [];
const nestLogger: LoggerService = {
  log: (...args: unknown[]) => said.push(format('[nest log]', ...args)),
  error: (...args: unknown[]) => said.push(format('[nest error]', ...args)),
  warn: (...args: unknown[]) => said.push(format('[nest warn]', ...args)),
  debug: (...args: unknown[]) => said.push(format('[nest debug]', ...args)),
  verbose: (...args: unknown[]) => said.push(format('[nest verbose]', ...args)),
  fatal: (...args: unknown[]) => said.push(format('[nest fatal]', ...args)),
};

beforeAll(() => {
  vi.stubEnv('NODE_ENV', 'development');
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      said.push(format(`[console.${method}]`, ...args));
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      said.push(String(chunk));
      return true;
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Every way a value gets printed: inspect (hidden properties too), JSON, String, and an error's stack. */
function shown(value: unknown): string {
  const parts = [inspect(value, { showHidden: true, depth: 12, getters: false })];
  try {
    parts.push(JSON.stringify(value) ?? '');
  } catch {
    // A cycle: inspect above has it all.
  }
  if (value instanceof Error) parts.push(String(value), String(value.stack), String(value.cause));
  else if (typeof value !== 'object' || value === null || Object.hasOwn(value, 'toString')) {
    parts.push(String(value));
  } else parts.push(Object.prototype.toString.call(value));
  return parts.join('\n');
}

function answer(res: RawResponse): string {
  return `${res.status} ${JSON.stringify(res.headers)} ${res.text}`;
}

/** No secret, and nothing shaped like a key at all. */
function expectClean(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text.match(new RegExp(API_KEY_SCANNER_PATTERN, 'g'))).toBeNull();
}

const secretsOf = (...keys: string[]) => keys.flatMap((key) => [key, key.slice(22, 54)]);

describe.each(ADAPTERS)('secret hygiene over $name, every logger and hook captured', (harness) => {
  it('the whole contract table: no key or secret in any answer, hook event, error or log line', async () => {
    const before = said.length;
    const fixture = await createContractFixture();
    const app = await harness.start(fixture.authenticator, { logger: nestLogger });
    const answers: string[] = [];
    for (const { request } of CONTRACT_CASES) {
      answers.push(answer(await sendContractRequest(app.baseUrl, request, fixture.keys)));
    }
    // A key where none is looked for: in the query string and in other headers.
    const extra = await send(app.baseUrl, {
      path: `/read?api_key=${fixture.keys.admin}`,
      headers: {
        'X-Forwarded-Proto': 'https',
        'X-Api-Key': fixture.keys.admin,
        Cookie: `api_key=${fixture.keys.admin}`,
      },
    });
    answers.push(answer(extra));
    await vi.waitFor(() => expect(fixture.captured.insecure).toHaveLength(1));
    await app.close();
    await fixture.authenticator.close();

    const { captured } = fixture;
    expect(captured.errors.length).toBeGreaterThan(0); // the failing store's lookup
    const everything = [
      ...answers,
      ...said.slice(before),
      shown(captured),
      ...captured.errors.flatMap(({ error, context }) => [shown(error), shown(context)]),
    ].join('\n');
    expectClean(everything, fixture.secrets);
  });

  it('faults: a throwing hook, a failing rate limiter, a hung store, a record it cannot verify, a key over plain HTTP', async () => {
    const before = said.length;
    const store = new UnreliableStore();
    const clock = () => T0;
    const pepper = { id: 'p2026', secret: 'pepper-secret-never-printed-0001' };
    const manager = createKeyManager({ store, now: clock });
    const peppered = createKeyManager({ store, now: clock, hashing: { pepper } });
    const issue = async (m = manager, scope: 'read-only' | 'admin' = 'read-only') =>
      (await m.create({ workspaceId: 'ws_alpha', name: 'hygiene', scope })).key;
    const plain = await issue();
    const limited = await issue(manager, 'admin');
    const hung = await issue();
    const unverifiable = await issue(peppered);
    const failingLimiter: RateLimiter = {
      take() {
        throw new Error('rate limiter unreachable');
      },
    };
    const { hooks, captured } = capturingHooks();
    const authenticator = createAuthenticator({
      store,
      now: clock,
      storeTimeoutMs: 100,
      rateLimit: { scopes: { admin: { limit: 10, windowSeconds: 1 } }, limiter: failingLimiter },
      hooks: {
        ...hooks,
        onAuthenticated(event) {
          hooks.onAuthenticated!(event);
          throw new Error(`audit sink down for ${event.key.keyId}`);
        },
        onInsecureKey(event) {
          hooks.onInsecureKey!(event);
          throw new Error('pager down');
        },
      },
    });
    const app = await harness.start(authenticator, { logger: nestLogger });
    const get = (key: string, secure = true, path = '/read') =>
      send(app.baseUrl, {
        path,
        headers: {
          Authorization: `Bearer ${key}`,
          ...(secure ? { 'X-Forwarded-Proto': 'https' } : {}),
        },
      });
    const answers = [
      await get(plain),
      await get(limited, true, '/admin'),
      await get(plain, false),
      await get(unverifiable),
    ];
    store.behaviour = { kind: 'hanging' };
    answers.push(await get(hung));
    store.release();
    expect(answers.map((res) => res.status)).toEqual([200, 503, 403, 503, 503]);
    await vi.waitFor(() => expect(captured.insecure).toHaveLength(1));
    await app.close();
    await authenticator.close();

    // Three hooks threw: onAuthenticated for the plain key and for the limited one (proven before
    // its limiter failed), and onInsecureKey.
    expect(captured.errors.map(({ context }) => context.operation).sort()).toEqual([
      'hook',
      'hook',
      'hook',
      'lookup',
      'lookup',
      'rate-limit',
    ]);
    const everything = [
      ...answers.map(answer),
      ...said.slice(before),
      shown(captured),
      ...captured.errors.map(({ error }) => shown(error)),
    ].join('\n');
    expectClean(everything, [...secretsOf(plain, limited, hung, unverifiable), pepper.secret]);
  });
});

describe("secret hygiene in the frameworks' own error handling", () => {
  async function keysFor() {
    const store = new UnreliableStore();
    const manager = createKeyManager({ store, now: () => T0 });
    const issue = async () =>
      (await manager.create({ workspaceId: 'ws_alpha', name: 'hygiene', scope: 'read-only' })).key;
    const valid = await issue();
    const revoked = await issue();
    await manager.revoke(revoked.split('_')[2]!);
    const failing = await issue();
    const wrong = `${valid.slice(0, 22)}${generateApiKey().token.slice(22)}`;
    return {
      store,
      valid,
      revoked,
      failing,
      wrong,
      secrets: secretsOf(valid, revoked, failing, wrong),
    };
  }

  /** Each key as a bearer token, as another scheme, and where no key belongs; one store failure. */
  async function sendAll(baseUrl: string, keys: Awaited<ReturnType<typeof keysFor>>) {
    const answers: RawResponse[] = [];
    for (const authorization of [
      `Bearer ${keys.valid}`,
      `Bearer ${keys.wrong}`,
      `Bearer ${keys.revoked}`,
      `Token ${keys.valid}`,
      `Bearer ${keys.valid}${'A'.repeat(2_000)}`,
      [`Bearer ${keys.valid}`, `Bearer ${keys.revoked}`],
    ]) {
      answers.push(
        await send(baseUrl, { path: '/read', headers: { Authorization: authorization } }),
      );
    }
    keys.store.behaviour = { kind: 'failing' };
    answers.push(
      await send(baseUrl, { path: '/read', headers: { Authorization: `Bearer ${keys.failing}` } }),
    );
    return answers;
  }

  it("Express, onFailure: 'next', with Express's final handler in development (stacks logged and sent)", async () => {
    const before = said.length;
    const keys = await keysFor();
    const { hooks, captured } = capturingHooks();
    const app = express();
    app.use(
      expressAuth({
        store: keys.store,
        requireHttps: false,
        now: () => T0,
        hooks,
        onFailure: 'next',
      }),
    );
    app.get('/read', requireScope('read-only'), (req, res) => {
      res.json({ keyId: req.auth!.keyId });
    });
    const running = await runningApp(app.listen(0, '127.0.0.1'));
    const answers = await sendAll(running.baseUrl, keys);
    await running.close();
    expect(answers.map((res) => res.status)).toEqual([200, 401, 401, 401, 401, 401, 503]);
    const logged = said.slice(before).join('\n');
    // The final handler did log (so the check below reads real output): the errors' stacks.
    expect(logged).toContain('InvalidApiKeyError');
    expectClean(
      [
        ...answers.map(answer),
        logged,
        shown(captured),
        ...captured.errors.map((e) => shown(e.error)),
      ].join('\n'),
      keys.secrets,
    );
  });

  it("Express, onFailure: 'next', with authErrorHandler()", async () => {
    const keys = await keysFor();
    const app = express();
    app.use(
      expressAuth({ store: keys.store, requireHttps: false, now: () => T0, onFailure: 'next' }),
    );
    app.get('/read', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(authErrorHandler());
    const running = await runningApp(app.listen(0, '127.0.0.1'));
    const answers = await sendAll(running.baseUrl, keys);
    await running.close();
    expect(answers.map((res) => res.status)).toEqual([200, 401, 401, 401, 401, 401, 503]);
    expectClean(answers.map(answer).join('\n'), keys.secrets);
  });

  it("Koa, onFailure: 'throw', with Koa's default error handling and app.on('error') listening", async () => {
    const before = said.length;
    const keys = await keysFor();
    const app = new Koa();
    const emitted: unknown[] = [];
    app.on('error', (error) => emitted.push(error));
    app.use(koaAuth({ store: keys.store, requireHttps: false, now: () => T0, onFailure: 'throw' }));
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    const running = await runningApp(app.listen(0, '127.0.0.1'));
    const answers = await sendAll(running.baseUrl, keys);
    await running.close();
    expect(answers.map((res) => res.status)).toEqual([200, 401, 401, 401, 401, 401, 503]);
    expect(emitted.length).toBeGreaterThan(0);
    expectClean(
      [...answers.map(answer), ...said.slice(before), ...emitted.map(shown)].join('\n'),
      keys.secrets,
    );
  });
});

describe('public objects redact secrets in toString, toJSON and util.inspect', () => {
  it('IssuedKey, parsed keys, records, ApiKeyInfo, RotatedKey, KeyManager, Authenticator with a warm cache, MemoryKeyStore, middleware', async () => {
    const store = new MemoryKeyStore();
    const pepper = { id: 'p1', secret: 'pepper-secret-never-printed-0002' };
    const manager = createKeyManager({ store, hashing: { pepper } });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });
    const rotated = await manager.rotate(issued.record.id, { overlapMs: 60_000 });
    const authenticator = createAuthenticator({ store, hashing: { pepper } });
    for (const key of [issued.key, rotated.issued.key]) {
      const result: AuthResult = await authenticator.authenticate({
        authorization: `Bearer ${key}`,
        secure: true,
      });
      expect(result.ok).toBe(true); // the cache now remembers both tokens
      expectClean(shown(result), secretsOf(key));
    }
    const objects: unknown[] = [
      issued,
      issued.record,
      rotated,
      rotated.previous,
      parseApiKey(issued.key),
      generateApiKey(),
      await store.findById(issued.record.id),
      await store.list({ now: new Date(), limit: 10 }),
      await manager.list(),
      await manager.get(issued.record.id),
      manager,
      authenticator,
      store,
      new KeyHasher({ pepper }),
      expressAuth({ authenticator }),
      koaAuth({ authenticator }),
      { nested: { deeper: [issued, rotated.issued] } },
    ];
    const text = objects.map(shown).join('\n');
    expectClean(text, [...secretsOf(issued.key, rotated.issued.key), pepper.secret]);
    expect(text).toContain(issued.record.id); // keys are named by id
    await authenticator.close();
  });

  it('errors: every refusal, key-management and configuration error, printed every way', async () => {
    const store = new UnreliableStore();
    const pepper = { id: 'p1', secret: 'pepper-secret-never-printed-0003' };
    const manager = createKeyManager({ store, hashing: { pepper } });
    const issued = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'read-only' });
    const key = issued.key;
    const authenticator = createAuthenticator({
      store,
      hashing: { pepper },
      storeTimeoutMs: 50,
      hooks: { onError: (error) => errors.push(error) },
    });
    const errors: unknown[] = [];
    const requests = [
      { authorization: `Bearer ${key}`, secure: false },
      { authorization: undefined, secure: true },
      { authorization: `Token ${key}`, secure: true },
      { authorization: [`Bearer ${key}`, `Bearer ${key}`], secure: true },
      { authorization: `Bearer ${key}${'A'.repeat(5_000)}`, secure: true },
      { authorization: `Bearer ${key.slice(0, -1)}`, secure: true },
      { authorization: `Bearer ${key}`, secure: true, requiredScope: 'admin' as const },
      { authorization: `Bearer ${key}`, secure: true, workspaceId: 'ws_2' },
    ];
    for (const request of requests) {
      const result = await authenticator.authenticate(request);
      if (!result.ok) errors.push(result.error, authenticator.render(result.error));
    }
    await manager.revoke(issued.record.id);
    authenticator.invalidate(issued.record.id);
    const revoked = await authenticator.authenticate({
      authorization: `Bearer ${key}`,
      secure: true,
    });
    if (!revoked.ok) errors.push(revoked.error);
    store.behaviour = { kind: 'hanging' };
    const fresh = await manager.create({ workspaceId: 'ws_1', name: 'erp', scope: 'read-only' });
    const timedOut = await authenticator.authenticate({
      authorization: `Bearer ${fresh.key}`,
      secure: true,
    });
    store.release();
    if (!timedOut.ok) errors.push(timedOut.error);
    // Key management, given the plaintext where an id belongs.
    for (const attempt of [
      () => manager.revoke(key),
      () => manager.rotate(key),
      () => manager.get(key).then(() => manager.setRateLimit(key, null)),
    ]) {
      await attempt().catch((error: unknown) => errors.push(error));
    }
    // Configuration mistakes around a pepper never print the pepper.
    for (const hashing of [
      { pepper: { id: 'bad id!', secret: pepper.secret } },
      { pepper: { id: 'short', secret: 'pepper-short' } },
      { pepper, previousPeppers: [pepper] },
    ]) {
      try {
        createAuthenticator({ store, hashing });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        errors.push(error);
      }
    }
    const codes = errors.map(
      (e) => (e as { code?: string }).code ?? (e as { body?: { code?: string } }).body?.code,
    );
    expect(codes).toEqual(
      expect.arrayContaining([
        'https_required',
        'missing_api_key',
        'malformed_authorization_header',
        'invalid_api_key',
        'insufficient_scope',
        'workspace_mismatch',
        'api_key_revoked',
        'auth_unavailable',
        'ERR_ORKESTA_AUTH_STORE_TIMEOUT',
        'api_key_not_found',
        'ERR_ORKESTA_AUTH_CONFIG',
      ]),
    );
    expectClean(errors.map(shown).join('\n'), [
      ...secretsOf(key, fresh.key),
      pepper.secret,
      'pepper-short',
    ]);
    await authenticator.close();
  });

  it('SqliteKeyStore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orkesta-hygiene-'));
    const store = new SqliteKeyStore({ filename: join(dir, 'keys.db') });
    try {
      const issued = await createKeyManager({ store }).create({
        workspaceId: 'ws_1',
        name: 'erp',
        scope: 'read-only',
      });
      const text = [store, await store.findById(issued.record.id), issued].map(shown).join('\n');
      expectClean(text, secretsOf(issued.key));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgresKeyStore, and the password of its connection string', async () => {
    if (!(await serviceAvailable('postgres'))) return;
    const schema = `hygiene_${randomUUID().replaceAll('-', '')}`;
    const password = 'db-password-never-printed';
    const url = new URL(POSTGRES_URL);
    url.password = password; // the server trusts local connections; the password is only carried
    const store = new PostgresKeyStore({ connectionString: url.href, schema, migrate: true });
    try {
      const issued = await createKeyManager({ store }).create({
        workspaceId: 'ws_1',
        name: 'erp',
        scope: 'read-only',
      });
      const text = [store, store.changes, await store.findById(issued.record.id)]
        .map(shown)
        .join('\n');
      expectClean(text, [...secretsOf(issued.key), password]);
    } finally {
      await store.close();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
