import type { AddressInfo } from 'node:net';
import { httpUrl } from '@orkesta/example-shared';
import { describePaymentsApi } from '@orkesta/example-shared/testing';
import { createPaymentsApp } from '../src/app.js';

describePaymentsApi('NestJS', async (services) => {
  const app = await createPaymentsApp(services);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: httpUrl('127.0.0.1', port), close: () => app.close() };
});
