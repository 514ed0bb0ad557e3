import { createAuthenticator, createKeyManager } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import { migrate } from '../src/index.js';
import {
  appName,
  available,
  backends,
  closeLater,
  codeOf,
  listening,
  newSchema,
  openGate,
  openStore,
  POSTGRES_URL,
  terminate,
  until,
  within,
} from './helpers.js';

/** A migrated schema holding one admin key; returns the key and a request carrying it. */
async function keyed() {
  const schema = newSchema();
  await migrate({ connectionString: POSTGRES_URL, schema });
  const issuer = openStore({ schema });
  const issued = await createKeyManager({ store: issuer }).create({
    workspaceId: 'ws_1',
    name: 'erp',
    scope: 'admin',
  });
  return {
    schema,
    issuer,
    record: issued.record,
    request: { authorization: `Bearer ${issued.key}`, secure: true },
  };
}

/** Scheduling slack on top of a deadline the authenticator itself keeps. */
const SLACK_MS = 250;

describe.skipIf(!available)('when the database fails', () => {
  it('a server that accepts and never answers: 503 auth_unavailable within storeTimeoutMs, nothing admitted; recovers by itself', async () => {
    const { schema, request } = await keyed();
    const gate = await openGate('blackhole');
    const store = openStore({ connectionString: gate.url, schema, connectTimeoutMs: 500 });
    const errors: unknown[] = [];
    const storeTimeoutMs = 300;
    const auth = closeLater(
      createAuthenticator({
        store,
        storeTimeoutMs,
        lastUsed: false,
        hooks: { onError: (error) => errors.push((error as { code?: unknown }).code) },
      }),
    );

    const results = await within(
      Promise.all(Array.from({ length: 5 }, () => auth.authenticate(request))),
      storeTimeoutMs + SLACK_MS,
      'the 503',
    );
    for (const result of results) {
      expect(codeOf(result)).toBe('auth_unavailable');
      expect(result.ok ? 0 : result.error.status).toBe(503);
    }
    expect(errors).toContain('ERR_ORKESTA_AUTH_STORE_TIMEOUT');
    // Later requests during the outage are refused the same way.
    const later = await within(auth.authenticate(request), storeTimeoutMs + SLACK_MS, 'the 503');
    expect(codeOf(later)).toBe('auth_unavailable');

    // The network comes back: the same address now reaches the real server.
    gate.mode = 'forward';
    await until(
      async () => codeOf(await auth.authenticate(request)) === 'ok',
      10_000,
      'recovery',
      100,
    );
  });

  it('a server that stops answering mid-connection: queries give up, the pool recovers', async () => {
    const { schema, request } = await keyed();
    const gate = await openGate('forward');
    const store = openStore({
      connectionString: gate.url,
      schema,
      statementTimeoutMs: 200,
      connectTimeoutMs: 500,
      poolMax: 2,
    });
    const auth = closeLater(
      createAuthenticator({ store, storeTimeoutMs: 300, lastUsed: false, cache: false }),
    );
    expect(codeOf(await auth.authenticate(request))).toBe('ok'); // the pool holds a live connection
    // The server goes silent on every open connection, and new ones are never answered.
    gate.stall();
    for (let i = 0; i < 3; i++) {
      const result = await within(auth.authenticate(request), 300 + SLACK_MS, 'the 503');
      expect(codeOf(result)).toBe('auth_unavailable');
    }
    // The stalled connections still hold both pool slots; the client gives their queries up
    // (statement timeout + 1 s) and the pool replaces them once the network is back.
    gate.mode = 'forward';
    await until(
      async () => codeOf(await auth.authenticate(request)) === 'ok',
      10_000,
      'recovery',
      100,
    );
  });

  it('connections terminated by the server: the next request succeeds on a fresh one', async () => {
    const { schema, request } = await keyed();
    const name = appName();
    const reports: string[] = [];
    const store = openStore({
      schema,
      applicationName: name,
      onError: (_error, context) => reports.push(context.operation),
    });
    const auth = closeLater(createAuthenticator({ store, lastUsed: false, cache: false }));
    await Promise.all(Array.from({ length: 4 }, () => auth.authenticate(request)));
    expect((await backends(name)).length).toBeGreaterThan(0);
    await terminate(name);
    expect(codeOf(await auth.authenticate(request))).toBe('ok');
    expect(codeOf(await auth.authenticate(request))).toBe('ok');
    await terminate(name);
    const again = await Promise.all(Array.from({ length: 4 }, () => auth.authenticate(request)));
    expect(again.map(codeOf)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('a read on a connection that died while idle in the pool is retried once, on a fresh one', async () => {
    const { schema, record } = await keyed();
    const gate = await openGate('forward');
    const store = openStore({ connectionString: gate.url, schema, poolMax: 1 });
    expect((await store.findById(record.id))?.id).toBe(record.id);
    // Cut the pooled connection and read at once, before the client can notice it is gone.
    gate.cut();
    const [found, page] = await Promise.all([
      store.findById(record.id),
      store.list({ workspaceId: 'ws_1', now: new Date(), limit: 10 }),
    ]);
    expect(found?.id).toBe(record.id);
    expect(page.items.map((item) => item.id)).toEqual([record.id]);
  });

  it('the listening connection keeps retrying while the server is unreachable, then resets and hears again', async () => {
    const { schema, issuer } = await keyed();
    const gate = await openGate('forward');
    const reports: string[] = [];
    const store = openStore({
      connectionString: gate.url,
      schema,
      reconnectDelayMs: { min: 20, max: 100 },
      onError: (_error, context) => reports.push(context.operation),
    });
    let resets = 0;
    const heard: (readonly string[])[] = [];
    await listening(
      store,
      (ids) => heard.push(ids),
      () => resets++,
    );
    expect(resets).toBe(1);

    gate.mode = 'reset';
    gate.cut();
    await until(
      () => reports.filter((operation) => operation === 'listen').length >= 3,
      3_000,
      'three failed attempts',
    );
    expect(resets).toBe(1);

    gate.mode = 'forward';
    await until(() => resets === 2, 3_000, 'the reset after reconnecting');
    await issuer.changes.publish(['AAAAAAAAAAAA']);
    await until(() => heard.length === 1, 1_000, 'the change');
    expect(heard).toEqual([['AAAAAAAAAAAA']]);
  });
});

describe.skipIf(!available)('the one-second revocation bound through an outage', () => {
  it('a key revoked right after the database returns is refused within 1 s, whenever LISTEN comes back', async () => {
    const { schema, issuer, record, request } = await keyed();
    const gate = await openGate('forward');
    const reports: string[] = [];
    // The default backoff (100 ms doubling to 5 s): after a long outage LISTEN may take seconds
    // to return, and the cache must not trust its entries meanwhile.
    const store = openStore({
      connectionString: gate.url,
      schema,
      connectTimeoutMs: 500,
      onError: (_error, context) => reports.push(context.operation),
    });
    const auth = closeLater(createAuthenticator({ store, storeTimeoutMs: 300, lastUsed: false }));
    await listening(store);
    expect(codeOf(await auth.authenticate(request))).toBe('ok');

    gate.mode = 'reset';
    gate.cut();
    const cutAt = performance.now();
    await until(
      () =>
        performance.now() - cutAt > 1_500 &&
        reports.filter((operation) => operation === 'listen').length >= 4,
      10_000,
      'an outage of 1.5 s and four failed LISTEN attempts',
    );
    // Down for longer than the bound: the cached key is no longer trusted, and cannot be checked.
    expect(codeOf(await auth.authenticate(request))).toBe('auth_unavailable');

    gate.mode = 'forward';
    await until(
      async () => codeOf(await auth.authenticate(request)) === 'ok',
      5_000,
      'the key admitted again',
    );
    const revokedAt = performance.now();
    await createKeyManager({ store: issuer }).revoke(record.id);
    let code = 'ok';
    while (code === 'ok' && performance.now() - revokedAt < 3_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      code = codeOf(await auth.authenticate(request));
    }
    expect(code).toBe('api_key_revoked');
    expect(performance.now() - revokedAt).toBeLessThan(1_000 + SLACK_MS);
  });
});

describe.skipIf(!available)('a database that freezes and thaws', () => {
  it('more requests than pool slots: each 503 within storeTimeoutMs, none held longer; all well once it thaws', async () => {
    const { schema, issuer, request } = await keyed();
    const gate = await openGate('forward');
    const store = openStore({
      connectionString: gate.url,
      schema,
      statementTimeoutMs: 2_000,
      connectTimeoutMs: 500,
      poolMax: 2,
    });
    const storeTimeoutMs = 300;
    const auth = closeLater(
      createAuthenticator({ store, storeTimeoutMs, lastUsed: false, cache: false }),
    );
    // Ten keys, so that no request shares another's lookup.
    const manager = createKeyManager({ store: issuer });
    const requests = [request];
    for (let i = 0; i < 9; i++) {
      const issued = await manager.create({ workspaceId: 'ws_1', name: `k${i}`, scope: 'admin' });
      requests.push({ authorization: `Bearer ${issued.key}`, secure: true });
    }
    expect(codeOf(await auth.authenticate(request))).toBe('ok');

    gate.stall(); // like SIGSTOP: connections stay open, nothing answers
    const started = performance.now();
    const frozen = await Promise.all(
      requests.map(async (each) => {
        const result = await auth.authenticate(each);
        return { code: codeOf(result), ms: performance.now() - started };
      }),
    );
    for (const { code, ms } of frozen) {
      expect(code).toBe('auth_unavailable');
      expect(ms).toBeLessThan(storeTimeoutMs + SLACK_MS);
    }

    gate.resume();
    // The queries held on the frozen connections are answered (or given up by the client) and
    // the two slots are free again: every key is admitted, all at once.
    await until(
      async () => {
        const results = await Promise.all(requests.map((each) => auth.authenticate(each)));
        return results.every((result) => codeOf(result) === 'ok');
      },
      10_000,
      'every key admitted after the thaw',
      100,
    );
  });
});

describe.skipIf(!available)('a listening connection that goes silent', () => {
  it('is found out by its heartbeat, reported, and replaced once the network is back', async () => {
    const gate = await openGate('forward');
    const reports: string[] = [];
    const store = openStore({
      connectionString: gate.url,
      schema: newSchema(),
      statementTimeoutMs: 200,
      connectTimeoutMs: 500,
      heartbeatMs: 100,
      reconnectDelayMs: { min: 50, max: 200 },
      onError: (_error, { operation }) => reports.push(operation),
    });
    let resets = 0;
    await listening(
      store,
      () => {},
      () => resets++,
    );
    expect(store.changes.listening).toBe(true);
    // No reset, no close: the connection just stops answering, as behind a dead NAT.
    gate.stall();
    await until(() => reports.includes('listen'), 5_000, 'the heartbeat noticing');
    expect(store.changes.listening).toBe(false);
    gate.mode = 'forward';
    const before = resets;
    await until(() => store.changes.listening && resets > before, 10_000, 'a new LISTEN', 50);
  });
});
