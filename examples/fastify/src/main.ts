import type { AddressInfo } from 'node:net';
import { httpUrl, runDemo } from '@orkesta/example-shared';
import { createPaymentsApp } from './app.js';

// The payments API on Fastify, on the store ORKESTA_AUTH_STORE names (default
// sqlite:.orkesta/keys.db) and on PORT (default 3000), like the Express demo.
await runDemo({
  framework: 'Fastify',
  async serve(services, { port, host }) {
    const app = await createPaymentsApp(services);
    try {
      await app.listen({ port, host });
    } catch (error) {
      await app.close();
      throw error;
    }
    const { port: listening } = app.server.address() as AddressInfo;
    return { url: httpUrl(host, listening), http: app.server, close: () => app.close() };
  },
});
