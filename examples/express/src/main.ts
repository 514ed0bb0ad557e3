import type { Scope } from '@orkesta/auth-express';
import {
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  MemoryKeyStore,
} from '@orkesta/auth-express';
import { createPaymentsApp } from './app.js';

// The demo runs the way `pnpm start` documents: PORT (default 3000) on loopback, HTTPS check
// off because nothing terminates TLS here. Keys live in memory until the process ends.
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';
const workspaceId = 'ws_demo';

const store = new MemoryKeyStore();
const changeFeed = createLocalChangeFeed();
const keys = createKeyManager({ store, changeFeed });
const authenticator = createAuthenticator({
  store,
  changeFeed,
  requireHttps: false,
  hooks: {
    onError(error, context) {
      console.error(
        `[auth] ${context.operation} failed${context.keyId ? ` for key ${context.keyId}` : ''}:`,
        error,
      );
    },
  },
});

const minted: Record<Scope, string> = { 'read-only': '', 'read-write': '', admin: '' };
for (const scope of ['admin', 'read-write', 'read-only'] as const) {
  const issued = await keys.create({ workspaceId, name: `demo-${scope}`, scope });
  minted[scope] = issued.key;
}

const app = createPaymentsApp({ authenticator, keys });
const server = app.listen(port, host, () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  console.log(`orkesta-auth demo: payments API on ${base}`);
  console.log('HTTPS check is OFF (requireHttps: false) for local use; keep it on in production.');
  console.log('');
  console.log(
    `Keys for workspace ${workspaceId}, shown this once (they live in memory until exit):`,
  );
  for (const [scope, key] of Object.entries(minted)) console.log(`  ${scope.padEnd(10)} ${key}`);
  console.log('');
  console.log('Try:');
  console.log(
    `  curl -H "Authorization: Bearer ${minted['read-only']}" ${base}/v1/accounts        # 200`,
  );
  console.log(
    `  curl -X POST -H "Authorization: Bearer ${minted['read-only']}" -H "Content-Type: application/json" -d '{"accountId":"acc_ws_demo_main","amount":10}' ${base}/v1/payments   # 403 insufficient_scope`,
  );
  console.log(`  curl ${base}/v1/accounts        # 401 missing_api_key`);
});

function shutdown(): void {
  server.close(() => {
    void authenticator.close().then(() => process.exit(0));
  });
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
