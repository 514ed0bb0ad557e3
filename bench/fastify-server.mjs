// The Fastify 5 app of the HTTP benchmark (GET /v1/accounts), in one of these modes:
//
//   node bench/fastify-server.mjs bare          the route, nothing else
//   node bench/fastify-server.mjs noop          an onRequest hook that does nothing (the price of
//                                               any hook at all)
//   node bench/fastify-server.mjs auth          the orkestaAuth plugin, { config: { orkesta:
//                                               { scope: 'read-only' } } } on the route
//   node bench/fastify-server.mjs bearer        @fastify/bearer-auth with an auth function doing
//                                               the peers' check (SHA-256 of the token, a Map
//                                               lookup, the scope), as the Express peers do
//   node bench/fastify-server.mjs bearer-keys   @fastify/bearer-auth as its README shows it: a Set
//                                               of keys, compared in constant time (no scope)
//
// See server-common.mjs for the key, the port line and the CPU questions over IPC.

import bearerAuth from '@fastify/bearer-auth';
import { orkestaAuth } from '@orkesta/auth-fastify';
import Fastify from 'fastify';
import {
  ACCOUNTS,
  benchKey,
  benchStore,
  modeFromArgv,
  peerKeyTable,
  peerScopeSatisfies,
  ROUTE,
  serve,
  sha256Hex,
} from './server-common.mjs';

export const MODES = ['bare', 'noop', 'auth', 'bearer', 'bearer-keys'];

const mode = modeFromArgv(MODES, 'fastify-server.mjs');
const key = mode === 'bare' || mode === 'noop' ? undefined : benchKey();

const app = Fastify();
let routeOptions = {};
if (mode === 'noop') {
  app.addHook('onRequest', (_request, _reply, done) => done());
} else if (mode === 'auth') {
  await app.register(orkestaAuth, { store: await benchStore(key), requireHttps: false });
  routeOptions = { config: { orkesta: { scope: 'read-only' } } };
} else if (mode === 'bearer') {
  const table = peerKeyTable(key);
  await app.register(bearerAuth, {
    keys: [],
    // The scope is the route's; here it is the one route's, read-only.
    auth: (token) => peerScopeSatisfies(table.get(sha256Hex(token)), 'read-only'),
  });
} else if (mode === 'bearer-keys') {
  await app.register(bearerAuth, { keys: new Set([key.token]) });
}
app.get(ROUTE, routeOptions, () => ACCOUNTS);
await app.listen({ port: 0, host: '127.0.0.1' });

await serve(app.server, { mode, key: key?.token });
