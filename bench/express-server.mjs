// The tiny Express 5 app of the HTTP benchmark, in one of three modes:
//
//   node bench/express-server.mjs bare   GET /v1/accounts, nothing else
//   node bench/express-server.mjs noop   the same, behind a no-op app.use() and a no-op route
//                                        middleware (the shape of the auth mode, doing nothing)
//   node bench/express-server.mjs auth   the same, behind app.use(orkestaAuth(...)) and
//                                        requireScope('read-only') on the route
//
// Listens on 127.0.0.1, port 0 (any free port), and prints one JSON line on stdout:
// {"mode":"auth","port":12345}. In auth mode it issues one read-only key in a MemoryKeyStore;
// the key goes to the parent over the IPC channel when there is one (bench/express-http.mjs),
// and to stderr otherwise, for trying the server by hand with curl.
// Over IPC it also answers {type:'cpu'} with its CPU time so far, so the parent can work out the
// server's CPU cost per request.

import { createKeyManager, MemoryKeyStore } from '@orkesta/auth';
import { orkestaAuth, requireScope } from '@orkesta/auth-express';
import express from 'express';

export const MODES = ['bare', 'noop', 'auth'];

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
  const store = new MemoryKeyStore();
  const issued = await createKeyManager({ store }).create({
    workspaceId: 'ws_bench',
    name: 'bench-http',
    scope: 'read-only',
    environment: 'test',
  });
  key = issued.key;
  app.use(orkestaAuth({ store, requireHttps: false }));
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
