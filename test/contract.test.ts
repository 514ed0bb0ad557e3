import { createAuthenticator } from '@orkesta/auth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADAPTERS } from './adapters/all.js';
import type { RunningApp } from './adapters/harness.js';
import { CONTRACT_CASES, keyIdOf, sendContractRequest } from './contract-cases.js';
import type { ContractFixture } from './fixtures.js';
import { createContractFixture, SIGNED_AUDIENCE, SIGNED_ISSUER, WORKSPACE } from './fixtures.js';
import { send } from './http.js';

describe.each(ADAPTERS)('behaviour contract over $name', (harness) => {
  let fixture: ContractFixture;
  let app: RunningApp;
  const logged: string[] = [];

  beforeAll(async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(' '));
      });
    }
    fixture = await createContractFixture();
    app = await harness.start(fixture.authenticator, { signing: fixture.signing });
  });

  afterAll(async () => {
    await app.close();
    await fixture.authenticator.close();
    vi.restoreAllMocks();
  });

  it.each(CONTRACT_CASES)('$name', async ({ request, expect: expected }) => {
    const { captured, authenticator } = fixture;
    // What earlier requests left pending is written first, so this row sees only its own.
    await authenticator.flushLastUsed();
    const [eventsBefore, writesBefore] = [captured.events.length, captured.lastUsed.length];
    const res = await sendContractRequest(app.baseUrl, request, fixture.keys);

    expect(res.status).toBe(expected.status);
    if (expected.status === 200) {
      expect(res.json).toMatchObject({ workspaceId: WORKSPACE, scope: expected.scope });
    } else {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json).toEqual({
        type: `urn:orkesta-auth:error:${expected.code}`,
        title: expect.any(String),
        status: expected.status,
        detail: expect.any(String),
        code: expected.code,
      });
    }
    if (expected.wwwAuthenticate !== undefined) {
      expect(res.headers['www-authenticate'] ?? null).toBe(expected.wwwAuthenticate);
    }
    if (expected.retryAfter !== undefined) {
      expect(res.headers['retry-after'] ?? null).toBe(expected.retryAfter);
    }
    if (expected.rateLimitPolicy !== undefined) {
      expect(res.headers['ratelimit-policy'] ?? null).toBe(expected.rateLimitPolicy);
    }
    if (expected.rateLimit instanceof RegExp) {
      expect(res.headers.ratelimit).toMatch(expected.rateLimit);
    } else if (expected.rateLimit !== undefined) {
      expect(res.headers.ratelimit ?? null).toBe(expected.rateLimit);
    }
    const wire = res.text + JSON.stringify(res.headers);
    for (const secret of fixture.secrets) expect(wire).not.toContain(secret);

    // The same hooks, in the same order, and the same store writes on every adapter.
    const keyId = keyIdOf(request.authorization?.(fixture.keys));
    const hooks = expected.hooks.map((hook) => hook.replaceAll('KEY', keyId ?? '(no key)'));
    const events = () => captured.events.slice(eventsBefore);
    // A key sent over plain HTTP is checked after the answer: wait for its report.
    if (hooks.some((hook) => hook.startsWith('insecure '))) {
      await vi.waitFor(() => expect(events()).toHaveLength(hooks.length));
    }
    expect(events()).toEqual(hooks);
    await authenticator.flushLastUsed();
    expect(captured.lastUsed.slice(writesBefore).flat()).toEqual(expected.lastUsed ? [keyId] : []);
  });

  it("serves the issuer's JWKS on a public route: public keys only, cacheable", async () => {
    // No key, plain HTTP: the JWKS is public, like the keys in it.
    const res = await send(app.baseUrl, { path: '/.well-known/jwks.json' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.json).toEqual(fixture.signing.jwks());
    expect((res.json as { keys: object[] }).keys).toHaveLength(2);
    for (const key of (res.json as { keys: object[] }).keys) expect(key).not.toHaveProperty('d');
  });

  it('a service fetching that JWKS over HTTP verifies the signed keys with it', async () => {
    const remote = createAuthenticator({
      store: fixture.store,
      lastUsed: false,
      signedKeys: {
        issuer: SIGNED_ISSUER,
        audience: SIGNED_AUDIENCE,
        jwks: { url: `${app.baseUrl}/.well-known/jwks.json` },
      },
    });
    const use = async (key: string) => {
      const result = await remote.authenticate({ authorization: `Bearer ${key}`, secure: true });
      return result.ok ? result.key.scope : result.error.code;
    };
    expect(await use(fixture.keys.signed.admin)).toBe('admin');
    expect(await use(fixture.keys.signed.previousSigningKey)).toBe('read-only');
    expect(await use(fixture.keys.signed.unknownKid)).toBe('invalid_api_key');
    await remote.close();
  });

  it('reports to hooks and logs by key id, never with a secret', async () => {
    const { captured, keys } = fixture;
    const before = {
      authenticated: captured.authenticated.length,
      rejected: captured.rejected.length,
      errors: captured.errors.length,
      insecure: captured.insecure.length,
    };
    const call = (authorization?: string, secure = true) =>
      send(app.baseUrl, {
        path: '/read',
        headers: {
          ...(secure ? { 'X-Forwarded-Proto': 'https' } : {}),
          ...(authorization === undefined ? {} : { Authorization: authorization }),
        },
      });
    await call(`Bearer ${keys.readOnly}`);
    await call();
    await call(`Bearer ${keys.wrongSecret}`);
    await call(`Bearer ${keys.revoked}`);
    await call(`Bearer ${keys.storeFails}`);
    await call(`Bearer ${keys.readOnly}`, false);
    const readOnlyId = keyIdOf(keys.readOnly);
    await vi.waitFor(() => expect(captured.insecure).toHaveLength(before.insecure + 1));
    expect(captured.insecure.slice(before.insecure).map((event) => event.keyId)).toEqual([
      readOnlyId,
    ]);
    expect(captured.authenticated.slice(before.authenticated).map((e) => e.key.keyId)).toEqual([
      readOnlyId,
    ]);
    expect(
      captured.rejected.slice(before.rejected).map((event) => [event.code, event.keyId]),
    ).toEqual([
      ['missing_api_key', undefined],
      ['invalid_api_key', readOnlyId],
      ['api_key_revoked', keyIdOf(keys.revoked)],
      ['auth_unavailable', keyIdOf(keys.storeFails)],
      ['https_required', undefined],
    ]);
    expect(captured.errors.slice(before.errors).map((entry) => entry.context)).toEqual([
      { operation: 'lookup', keyId: keyIdOf(keys.storeFails) },
    ]);
    const everything =
      JSON.stringify(captured) +
      logged.join('\n') +
      captured.errors.map((e) => String(e.error)).join('\n');
    for (const secret of fixture.secrets) expect(everything).not.toContain(secret);
  });
});
