// The tiny Express 5 app of the HTTP benchmark, in one of these modes:
//
//   node bench/express-server.mjs bare        GET /v1/accounts, nothing else
//   node bench/express-server.mjs noop        the same, behind a no-op app.use() and a no-op
//                                             route middleware (the shape of auth, doing nothing)
//   node bench/express-server.mjs auth        the same, behind app.use(orkestaAuth(...)) and
//                                             requireScope('read-only') on the route
//   node bench/express-server.mjs rate        auth with a rate limit on the key's scope, kept in
//                                             memory (MemoryRateLimiter), high enough never to refuse
//   node bench/express-server.mjs rate-redis  the same with RedisRateLimiter (BENCH_REDIS_URL,
//                                             default redis://127.0.0.1:6379): one script per request
//
// Listens on 127.0.0.1, port 0 (any free port), and prints one JSON line on stdout:
// {"mode":"auth","port":12345}. The auth modes hold one read-only key in a MemoryKeyStore: the
// key in BENCH_API_KEY when set (the parent, bench/express-http.mjs, gives every server the same
// one), else a new one, printed to stderr for trying the server by hand with curl.
// Over IPC it also answers {type:'cpu'} with its CPU time so far, so the parent can work out the
// server's CPU cost per request.

import { generateApiKey, KeyHasher, MemoryKeyStore, parseApiKey } from '@orkesta/auth';
import { orkestaAuth, requireScope } from '@orkesta/auth-express';
import { RedisRateLimiter } from '@orkesta/auth-redis';
import express from 'express';
import { Redis } from 'ioredis';

export const MODES = ['bare', 'noop', 'auth', 'rate', 'rate-redis'];

/** A rate no benchmark reaches: the limiter does all its work and never refuses. */
const UNREACHED_RATE = { limit: 100_000, windowSeconds: 1 };

const mode = process.argv[2];
if (!MODES.includes(mode)) {
  console.error(`usage: node bench/express-server.mjs <${MODES.join('|')}>`);
  process.exit(2);
}

const accounts = {
  data: [
    { id: 'acc_01', name: 'Operating account', currency: 'EUR', balance: 125_000 },
    { id: 'acc_02', name: 'Payroll', currency: 'EUR', balance: 48_250 },
  ],
  hasMore: false,
};

function listAccounts(_req, res) {
  res.json(accounts);
}

function noop(_req, _res, next) {
  next();
}

const app = express();
let key;

if (mode === 'bare') {
  app.get('/v1/accounts', listAccounts);
} else if (mode === 'noop') {
  app.use(noop);
  app.get('/v1/accounts', noop, listAccounts);
} else {
  const parsed = parseApiKey(process.env.BENCH_API_KEY ?? generateApiKey('test').token);
  if (parsed === undefined) throw new Error('BENCH_API_KEY is not a valid key');
  key = parsed.token;
  const store = new MemoryKeyStore();
  await store.insert({
    id: parsed.id,
    workspaceId: 'ws_bench',
    name: 'bench-http',
    scope: 'read-only',
    environment: parsed.environment,
    hash: new KeyHasher().hash(key),
    createdAt: new Date(),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rotatedFromId: null,
  });
  let rateLimit;
  if (mode === 'rate') rateLimit = { scopes: { 'read-only': UNREACHED_RATE } };
  if (mode === 'rate-redis') {
    const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
    await new Promise((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
    const prefix = `orkesta-bench:${process.pid}:`;
    const limiter = new RedisRateLimiter({
      redis,
      prefix,
      onFallback: (error) => {
        // The figures would no longer be Redis's: say so and stop.
        console.error(`rate-redis fell back to memory: ${error}`);
        process.exit(1);
      },
    });
    rateLimit = { scopes: { 'read-only': UNREACHED_RATE }, limiter };
  }
  app.use(orkestaAuth({ store, requireHttps: false, ...(rateLimit ? { rateLimit } : {}) }));
  app.get('/v1/accounts', requireScope('read-only'), listAccounts);
}

const server = app.listen(0, '127.0.0.1', (error) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ mode, port })}\n`);
  if (process.send !== undefined) {
    process.send({ type: 'ready', mode, port, key });
  } else if (key !== undefined) {
    console.error(`bench key (in memory, for this process only): ${key}`);
  }
});

if (process.send !== undefined) {
  process.on('message', (message) => {
    if (message?.type === 'cpu') {
      process.send({ type: 'cpu', id: message.id, cpu: process.cpuUsage() });
    }
  });
  // The parent went away: stop, so no server outlives its benchmark.
  process.on('disconnect', () => process.exit(0));
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
