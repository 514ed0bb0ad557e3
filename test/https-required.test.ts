import { keyChecksum } from '@orkesta/auth';
import { generate } from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProxyTrust, RunningApp } from './adapters/harness.js';
import { send } from './http.js';
import { ADAPTERS, outcome, securitySetup } from './security-fixtures.js';

/**
 * HTTPS required, in every adapter: plain HTTP is refused with 403 `https_required` before the
 * key is read, real TLS is recognised from the connection, `X-Forwarded-Proto` counts only as
 * far as the framework's own trust-proxy setting says, and a valid key seen over plain HTTP is
 * reported to `onInsecureKey` by its id.
 */

let tls: { key: string; cert: string };

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  tls = { key: pems.private, cert: pems.cert };
});

describe.each(ADAPTERS)('HTTPS required over $name', (harness) => {
  const running: RunningApp[] = [];
  afterEach(async () => {
    for (const app of running.splice(0)) await app.close();
  });
  async function start(
    setup: ReturnType<typeof securitySetup>,
    options: Parameters<typeof harness.start>[1],
  ) {
    const app = await harness.start(setup.authenticator, options);
    running.push(app);
    return app;
  }

  it('admits a key over real TLS: the connection says it is secure, no header needed', async () => {
    const setup = securitySetup();
    const { key } = await setup.issue();
    const app = await start(setup, { tls, proxy: 'none' });
    expect(app.baseUrl.startsWith('https://')).toBe(true);
    const admitted = await send(app.baseUrl, {
      path: '/read',
      headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'http' },
      ca: tls.cert,
    });
    expect(admitted.status).toBe(200);
    expect(setup.captured.insecure).toEqual([]);
  });

  it('refuses plain HTTP before the key is read: one answer whatever the header, no lookup, no failed attempt', async () => {
    const setup = securitySetup({ hooks: {}, failedAttempts: { limit: 2, windowSeconds: 60 } });
    const { key } = await setup.issue();
    const app = await start(setup, { proxy: 'none' });
    const headers = [
      { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'https' },
      { Authorization: `Bearer ${key}` },
      { Authorization: `Bearer ${key.slice(0, -1)}x` },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      { Authorization: [`Bearer ${key}`, `Bearer ${key}`] },
      {},
    ];
    for (const header of headers) {
      const res = await send(app.baseUrl, { path: '/read', headers: header });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ status: 403, code: 'https_required' });
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.text).not.toContain(key.slice(22, 54));
    }
    expect(setup.store.lookups).toEqual([]);
    // Six refusals from one address, none counted against it: the key is admitted at once.
    const admitted = await setup.authenticator.authenticate({
      authorization: `Bearer ${key}`,
      secure: true,
      ip: '127.0.0.1',
    });
    expect(admitted.ok).toBe(true);
  });

  const trusts: readonly [ProxyTrust, number][] = [
    ['loopback', 200],
    ['none', 403],
    ['elsewhere', 403],
  ];
  it.each(trusts.filter(([trust]) => harness.proxyTrusts.includes(trust)))(
    "honours the framework's trust-proxy setting (%s): X-Forwarded-Proto: https from loopback gets %i",
    async (trust, status) => {
      const setup = securitySetup();
      const { key } = await setup.issue();
      const app = await start(setup, { proxy: trust });
      const viaProxy = await send(app.baseUrl, {
        path: '/read',
        headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'https' },
      });
      expect(outcome(viaProxy)).toBe(status === 200 ? 'ok' : 'https_required');
      for (const proto of [{ 'X-Forwarded-Proto': 'http' }, {}]) {
        const plain = await send(app.baseUrl, {
          path: '/read',
          headers: { Authorization: `Bearer ${key}`, ...proto },
        });
        expect(outcome(plain)).toBe('https_required');
      }
    },
  );

  it('reports a valid key seen over plain HTTP to onInsecureKey, by id and path, never its secret', async () => {
    const setup = securitySetup();
    const { key, id, secret } = await setup.issue();
    const other = await setup.issue('admin');
    const app = await start(setup, { proxy: 'none' });
    // Well-formed, with the id of another key and a secret that is not that key's.
    const body = `${other.key.slice(0, 22)}${secret}`;
    const forged = body + keyChecksum(body);
    for (const authorization of [`Bearer ${key}`, `Bearer ${forged}`, 'Bearer nonsense']) {
      const res = await send(app.baseUrl, {
        path: '/read',
        headers: { Authorization: authorization },
      });
      expect(outcome(res)).toBe('https_required');
    }
    await vi.waitFor(() => expect(setup.captured.insecure).toHaveLength(1));
    expect(setup.captured.insecure[0]).toEqual({
      keyId: id,
      path: '/read',
      ip: expect.any(String),
    });
    expect(JSON.stringify(setup.captured)).not.toContain(secret);
    // The leaked key is still refused here; revoking it is the application's call.
    expect(setup.captured.authenticated).toEqual([]);
  });
});
