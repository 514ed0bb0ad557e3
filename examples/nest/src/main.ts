import type { AddressInfo } from 'node:net';
import { httpUrl, runDemo } from '@orkesta/example-shared';
import { createPaymentsApp } from './app.js';

// The payments API on NestJS, on the store ORKESTA_AUTH_STORE names (default
// sqlite:.orkesta/keys.db) and on PORT (default 3000), like the Express demo.
await runDemo({
  framework: 'NestJS',
  async serve(services, { port, host }) {
    // A failure to start is the demo's one line on stderr, and a request that fails unexpectedly
    // is logged by the app's problem filter: Nest's own log would say the same things twice.
    const app = await createPaymentsApp({ ...services, logger: false });
    await app.listen(port, host);
    const { port: listening } = app.getHttpServer().address() as AddressInfo;
    return { url: httpUrl(host, listening), close: () => app.close() };
  },
});
