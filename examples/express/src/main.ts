import { listenHttp, runDemo } from '@orkesta/example-shared';
import { createPaymentsApp } from './app.js';

// `pnpm start`: the payments API on the store ORKESTA_AUTH_STORE names (default
// sqlite:.orkesta/keys.db at the repository root) and on PORT (default 3000). The store, the
// first-start keys, the banner and the shutdown are the shared demo's; the app is Express's.
await runDemo({
  framework: 'Express',
  serve: (services, address) => listenHttp(createPaymentsApp(services), address),
});
