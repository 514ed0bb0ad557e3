import { StoreTimeoutError } from '@orkesta/auth';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningApp } from './adapters/harness.js';
import type { RawResponse } from './http.js';
import { send } from './http.js';
import type { SecuritySetup } from './security-fixtures.js';
import { ADAPTERS, outcome, securitySetup } from './security-fixtures.js';

/**
 * A key store that fails, hangs, is slow, or comes back, behind every adapter: the request
 * gets 503 `auth_unavailable` with `Retry-After` within `storeTimeoutMs`, nothing is admitted,
 * `onError` hears of it, and the first request after the store recovers is admitted with no
 * restart. Bounds on elapsed time are generous (a loaded 2-core machine): they prove "within the
 * timeout, not never", not speed.
 */

const TIMEOUT_MS = 300;
const RETRY_AFTER = 3;
/** Slack for a loaded machine on top of the timeout. */
const SLACK_MS = 1_500;

describe.each(ADAPTERS)('store faults behind $name', (harness) => {
  let setup: SecuritySetup;
  let app: RunningApp;

  async function start(options: Parameters<typeof securitySetup>[0] = {}) {
    setup = securitySetup({
      storeTimeoutMs: TIMEOUT_MS,
      unavailableRetryAfterSeconds: RETRY_AFTER,
      ...options,
    });
    app = await harness.start(setup.authenticator);
  }

  afterEach(async () => {
    setup.store.release();
    await app.close();
    await setup.authenticator.close();
  });

  const get = (key: string) =>
    send(app.baseUrl, {
      path: '/read',
      headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'https' },
    });

  function expectUnavailable(res: RawResponse): void {
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 503, code: 'auth_unavailable' });
    expect(res.headers['retry-after']).toBe(String(RETRY_AFTER));
  }

  it('a failing store: 503 auth_unavailable with Retry-After, nothing admitted, onError told', async () => {
    await start();
    const { key, id } = await setup.issue();
    setup.store.behaviour = { kind: 'failing' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(key)));
    for (const res of answers) expectUnavailable(res);
    expect(setup.captured.authenticated).toEqual([]);
    expect(setup.captured.errors.map((e) => e.context)).toContainEqual({
      operation: 'lookup',
      keyId: id,
    });
  });

  it(`a hanging store: every waiting request gets 503 once storeTimeoutMs (${TIMEOUT_MS} ms) has passed, and not before`, async () => {
    await start();
    const keys = [await setup.issue(), await setup.issue('admin')];
    setup.store.behaviour = { kind: 'hanging' };
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        get(keys[i % 2]!.key).then((res) => ({ res, elapsed: performance.now() - started })),
      ),
    );
    for (const { res, elapsed } of answers) {
      expectUnavailable(res);
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    }
    // Concurrent misses for one id share one lookup: two ids, two store calls, two timeouts.
    expect(setup.store.lookups).toHaveLength(2);
    expect(setup.captured.errors.map((e) => e.error)).toEqual([
      expect.any(StoreTimeoutError),
      expect.any(StoreTimeoutError),
    ]);
    expect(setup.captured.authenticated).toEqual([]);
  });

  it('a slow store: admitted when it answers within the timeout, 503 when it answers after', async () => {
    await start();
    const quick = await setup.issue();
    const late = await setup.issue();
    setup.store.behaviour = { kind: 'slow', delayMs: 50 };
    expect(outcome(await get(quick.key))).toBe('ok');
    setup.store.behaviour = { kind: 'slow', delayMs: TIMEOUT_MS + 300 };
    const started = performance.now();
    expectUnavailable(await get(late.key));
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(setup.captured.authenticated.map((e) => e.key.keyId)).toEqual([quick.id]);
  });

  it('a store that comes back: the first request after it recovers is admitted, with no restart', async () => {
    await start();
    const { key, id } = await setup.issue();
    setup.store.behaviour = { kind: 'failing' };
    for (let i = 0; i < 3; i++) expectUnavailable(await get(key));
    setup.store.behaviour = { kind: 'hanging' };
    expectUnavailable(await get(key));
    setup.store.release();
    const back = await get(key);
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({ keyId: id });
    // A failure is never cached as an answer: no request waited on the old failure.
    expect(setup.captured.authenticated.map((e) => e.key.keyId)).toEqual([id]);
  });

  it('a key verified before the outage keeps working until its cache entry expires; others fail closed', async () => {
    await start({ cache: { ttlMs: 10_000 } });
    const known = await setup.issue();
    const unseen = await setup.issue();
    expect(outcome(await get(known.key))).toBe('ok');
    setup.store.behaviour = { kind: 'failing' };
    expect(outcome(await get(known.key))).toBe('ok');
    expectUnavailable(await get(unseen.key));
    setup.clock.set(setup.clock.now() + 10_001); // the entry is stale once its TTL has passed
    expectUnavailable(await get(known.key));
  });
});
