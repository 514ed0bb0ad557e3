import type { AddressInfo } from 'node:net';
import { httpUrl } from '@orkesta/example-shared';
import { describePaymentsApi } from '@orkesta/example-shared/testing';
import { createPaymentsApp } from '../src/app.js';

describePaymentsApi('Fastify', async (services) => {
  const app = await createPaymentsApp(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: httpUrl('127.0.0.1', port), http: app.server, close: () => app.close() };
});
