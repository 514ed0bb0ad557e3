import { listenHttp, runDemoCluster } from '@orkesta/example-shared';
import { createPaymentsApp } from './app.js';

// `pnpm start:cluster`: the Express demo as WORKERS processes (default 2) on one port, sharing
// the key store ORKESTA_AUTH_STORE names and the Redis ORKESTA_AUTH_REDIS names (required).
await runDemoCluster({
  framework: 'Express',
  serve: (services, address) => listenHttp(createPaymentsApp(services), address),
});
