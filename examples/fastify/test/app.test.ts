import type { AddressInfo } from 'node:net';
import { createAuthenticator, createKeyManager, MemoryKeyStore } from '@orkesta/auth-fastify';
import { httpUrl } from '@orkesta/example-shared';
import { describePaymentsApi } from '@orkesta/example-shared/testing';
import { describe, expect, it } from 'vitest';
import { createPaymentsApp } from '../src/app.js';

describePaymentsApi('Fastify', async (services) => {
  const app = await createPaymentsApp(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: httpUrl('127.0.0.1', port), http: app.server, close: () => app.close() };
});

describe("the Fastify demo's 404 is behind the plugin, as in the other demos", () => {
  it('answers an unknown path 401 without a key, and 404 with one', async () => {
    const store = new MemoryKeyStore();
    const keys = createKeyManager({ store });
    const authenticator = createAuthenticator({ store, requireHttps: false });
    const { key } = await keys.create({ workspaceId: 'ws_demo', name: 'demo', scope: 'read-only' });
    const app = await createPaymentsApp({ authenticator, keys });
    const without = await app.inject({ url: `/v1/nothing?api_key=${key}` });
    expect([without.statusCode, without.json().code]).toEqual([401, 'missing_api_key']);
    const known = await app.inject({
      url: `/v1/nothing?api_key=${key}`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect([known.statusCode, known.json().code]).toEqual([404, 'not_found']);
    // Its own not-found handler: the URL, and the key in it, are not echoed.
    expect(known.body).not.toContain(key);
    // Nor by a URL the router cannot read, answered before any hook.
    const unreadable = await app.inject({ url: `/v1/%zz?api_key=${key}` });
    expect([unreadable.statusCode, unreadable.json().code]).toEqual([400, 'invalid_request']);
    expect(unreadable.body).not.toContain(key);
    await app.close();
    await authenticator.close();
  });
});
