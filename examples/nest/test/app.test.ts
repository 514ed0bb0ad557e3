import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { OpenedKeyStore } from '@orkesta/auth-cli';
import { openKeyStore } from '@orkesta/auth-cli';
import type { DemoServer } from '@orkesta/example-shared';
import { createDemoServices, httpUrl } from '@orkesta/example-shared';
import { describePaymentsApi, temporaryDirectory } from '@orkesta/example-shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentsApp } from '../src/app.js';

describePaymentsApi('NestJS', async (services) => {
  const app = await createPaymentsApp(services);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: httpUrl('127.0.0.1', port), close: () => app.close() };
});

describe('what differs on Nest (its README says so)', () => {
  let dir: ReturnType<typeof temporaryDirectory>;
  let opened: OpenedKeyStore;
  let server: DemoServer;
  beforeAll(async () => {
    dir = temporaryDirectory();
    opened = await openKeyStore({ kind: 'sqlite', filename: join(dir.path, 'keys.db') });
    const services = createDemoServices(opened.store);
    const app = await createPaymentsApp(services);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    server = {
      url: httpUrl('127.0.0.1', port),
      close: async () => {
        await app.close();
        await services.authenticator.close();
      },
    };
  });
  afterAll(async () => {
    await server?.close();
    await opened?.close();
    dir?.remove();
  });

  it('Swagger UI at /docs shows the document @nestjs/swagger made, without a key', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const init = await (await fetch(`${server.url}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('orkestaApiKey');
  });

  it('the body is parsed before the guard: a malformed body without a key is 400', async () => {
    const res = await fetch(`${server.url}/v1/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_request');
    // A well-formed body without a key is refused by the guard as everywhere.
    const good = await fetch(`${server.url}/v1/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(good.status).toBe(401);
  });

  it('an unknown route is 404 problem+json without authentication', async () => {
    const res = await fetch(`${server.url}/v1/nothing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  });
});
