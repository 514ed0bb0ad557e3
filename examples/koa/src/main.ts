import { listenHttp, runDemo } from '@orkesta/example-shared';
import { createPaymentsApp } from './app.js';

// The payments API on Koa, on the store ORKESTA_AUTH_STORE names (default
// sqlite:.orkesta/keys.db) and on PORT (default 3000), like the Express demo.
await runDemo({
  framework: 'Koa',
  serve: (services, address) => listenHttp(createPaymentsApp(services).callback(), address),
});
