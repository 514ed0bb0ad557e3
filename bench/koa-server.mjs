// The Koa 3 app of the HTTP benchmark (GET /v1/accounts with @koa/router), in one of these modes:
//
//   node bench/koa-server.mjs bare    the router and the route, nothing else
//   node bench/koa-server.mjs noop    a no-op app.use() middleware and a no-op route middleware:
//                                     the price of any middleware in the places ours goes
//   node bench/koa-server.mjs auth    behind app.use(orkestaAuth(...)) and requireScope('read-only')
//                                     on the route
//
// See server-common.mjs for the key, the port line and the CPU questions over IPC.

import { createServer } from 'node:http';
import { Router } from '@koa/router';
import { orkestaAuth, requireScope } from '@orkesta/auth-koa';
import Koa from 'koa';
import { ACCOUNTS, benchKey, benchStore, modeFromArgv, ROUTE, serve } from './server-common.mjs';

export const MODES = ['bare', 'noop', 'auth'];

const mode = modeFromArgv(MODES, 'koa-server.mjs');

function listAccounts(ctx) {
  ctx.body = ACCOUNTS;
}

const app = new Koa();
const router = new Router();
const key = mode === 'auth' ? benchKey() : undefined;

function passOn(_ctx, next) {
  return next();
}

if (mode === 'bare') {
  router.get(ROUTE, listAccounts);
} else if (mode === 'noop') {
  app.use(passOn);
  router.get(ROUTE, passOn, listAccounts);
} else {
  app.use(orkestaAuth({ store: await benchStore(key), requireHttps: false }));
  router.get(ROUTE, requireScope('read-only'), listAccounts);
}
app.use(router.routes());

await serve(createServer(app.callback()).listen(0, '127.0.0.1'), { mode, key: key?.token });
