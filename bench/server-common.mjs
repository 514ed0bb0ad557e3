// What every benchmark server (express-server.mjs, koa-server.mjs, nest-server.mjs) shares:
// the route and its answer, the key, and how a server tells bench/http.mjs where it listens.
//
// A server is started as `node bench/<framework>-server.mjs <mode>`, listens on 127.0.0.1,
// port 0 (any free port), and prints one JSON line on stdout: {"mode":"auth","port":12345}.
// The authenticating modes hold one read-only key: the key in BENCH_API_KEY when set (the
// parent, bench/http.mjs, gives every server of a run the same one), else a new one, printed to
// stderr for trying the server by hand with curl. Over IPC it answers {type:'cpu'} with its CPU
// time so far, so the parent can work out the server's CPU cost per request.

import { hash } from 'node:crypto';
import { once } from 'node:events';
import { generateApiKey, MemoryKeyStore, parseApiKey } from '@orkesta/auth';
import { KeyHasher } from '@orkesta/auth/store';

/** The one route of every benchmark app. */
export const ROUTE = '/v1/accounts';

/** What the route answers: a small JSON list. */
export const ACCOUNTS = {
  data: [
    { id: 'acc_01', name: 'Operating account', currency: 'EUR', balance: 125_000 },
    { id: 'acc_02', name: 'Payroll', currency: 'EUR', balance: 48_250 },
  ],
  hasMore: false,
};

/** The mode named on the command line, or exit 2 with the usage. */
export function modeFromArgv(modes, script) {
  const mode = process.argv[2];
  if (!modes.includes(mode)) {
    console.error(`usage: node bench/${script} <${modes.join('|')}>`);
    process.exit(2);
  }
  return mode;
}

/** The benchmark key: BENCH_API_KEY, or a new one. */
export function benchKey() {
  const parsed = parseApiKey(process.env.BENCH_API_KEY ?? generateApiKey('test').token);
  if (parsed === undefined) throw new Error('BENCH_API_KEY is not a valid key');
  return parsed;
}

/** A MemoryKeyStore holding the benchmark key, read-only, as KeyManager would have stored it. */
export async function benchStore(key) {
  const store = new MemoryKeyStore();
  await store.insert({
    id: key.id,
    workspaceId: 'ws_bench',
    name: 'bench-http',
    scope: 'read-only',
    environment: key.environment,
    hash: new KeyHasher().hash(key.token),
    createdAt: new Date(),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
  });
  return store;
}

/**
 * The peer libraries' table: SHA-256 of the token (hex) → the key's principal. Their check is
 * the one an application writes by hand: hash the presented token, look the hash up in a Map.
 * `crypto.hash` is Node's fastest one-shot SHA-256, so the peers get the quickest hash there is.
 */
export function peerKeyTable(key) {
  return new Map([
    [sha256Hex(key.token), { keyId: key.id, workspaceId: 'ws_bench', scope: 'read-only' }],
  ]);
}

export function sha256Hex(token) {
  return hash('sha256', token, 'hex');
}

const SCOPE_RANK = { 'read-only': 0, 'read-write': 1, admin: 2 };

/** Whether a principal's scope meets the route's: the peers' version of `requireScope`. */
export function peerScopeSatisfies(principal, required) {
  return principal !== undefined && SCOPE_RANK[principal.scope] >= SCOPE_RANK[required];
}

/**
 * Announces a listening server to the parent (stdout line, IPC `ready`), answers its CPU
 * questions, and stops with the parent or on SIGINT/SIGTERM. `key` is the token the server
 * accepts, when it authenticates.
 */
export async function serve(server, { mode, key }) {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ mode, port })}\n`);
  if (process.send !== undefined) {
    process.send({ type: 'ready', mode, port });
    process.on('message', (message) => {
      if (message?.type === 'cpu') {
        process.send({ type: 'cpu', id: message.id, cpu: process.cpuUsage() });
      }
    });
    // The parent went away: stop, so no server outlives its benchmark.
    process.on('disconnect', () => process.exit(0));
  } else if (key !== undefined) {
    console.error(`bench key (in memory, for this process only): ${key}`);
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  }
}

/**
 * `count` keys and the records KeyManager would have stored for them (read-only, in 100
 * workspaces), for the benchmarks that fill a store; hashed here, so that filling stays fast.
 */
export function benchRecords(count) {
  const hasher = new KeyHasher();
  const createdAt = new Date();
  return Array.from({ length: count }, (_, i) => {
    const { id, token, environment } = generateApiKey('live');
    return {
      token,
      record: {
        id,
        workspaceId: `ws_${i % 100}`,
        name: `bench-${i}`,
        scope: 'read-only',
        environment,
        hash: hasher.hash(token),
        createdAt,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        rotatedFromId: null,
      },
    };
  });
}
