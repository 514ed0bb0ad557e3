// The tiny Express 5 app of the HTTP benchmark (GET /v1/accounts), in one of these modes:
//
//   node bench/express-server.mjs bare         the route, nothing else
//   node bench/express-server.mjs noop         behind a no-op app.use() and a no-op route
//                                              middleware (the shape of auth, doing nothing)
//   node bench/express-server.mjs auth         behind app.use(orkestaAuth(...)) and
//                                              requireScope('read-only') on the route
//   node bench/express-server.mjs passport     behind app.use(passport.authenticate('bearer'))
//                                              (passport-http-bearer: SHA-256 of the token, a Map
//                                              lookup) and a scope check on the route
//   node bench/express-server.mjs handwritten  behind a hand-written bearer middleware, as
//                                              express-bearer-token users write it (a regex, the
//                                              SHA-256 of the token, a Map lookup) and the same
//                                              scope check
//   node bench/express-server.mjs rate         auth with a rate limit on the key's scope, kept in
//                                              memory (MemoryRateLimiter), high enough never to refuse
//   node bench/express-server.mjs rate-redis   the same with RedisRateLimiter (BENCH_REDIS_URL,
//                                              default redis://127.0.0.1:6379): one script per request
//
// See server-common.mjs for the key, the port line and the CPU questions over IPC.

import { createServer } from 'node:http';
import { orkestaAuth, requireScope } from '@orkesta/auth-express';
import { RedisRateLimiter } from '@orkesta/auth-redis';
import express from 'express';
import { Redis } from 'ioredis';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
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

export const MODES = ['bare', 'noop', 'auth', 'passport', 'handwritten', 'rate', 'rate-redis'];

/** A rate no benchmark reaches: the limiter does all its work and never refuses. */
const UNREACHED_RATE = { limit: 100_000, windowSeconds: 1 };

const mode = modeFromArgv(MODES, 'express-server.mjs');

function listAccounts(_req, res) {
  res.json(ACCOUNTS);
}

function noop(_req, _res, next) {
  next();
}

/** The peers' scope check on the route, as an application writes it beside passport. */
function peerRequireScope(scope) {
  return function peerScope(req, res, next) {
    if (peerScopeSatisfies(req.user, scope)) next();
    else res.status(403).json({ error: 'insufficient_scope' });
  };
}

// RFC 6750 b64token, the scheme case-insensitive: what a careful hand-written check matches.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The express-bearer-token way, written out: read the token, hash it, look it up. */
function handwrittenBearer(keys) {
  return function bearer(req, res, next) {
    const match = BEARER.exec(req.headers.authorization ?? '');
    const principal = match === null ? undefined : keys.get(sha256Hex(match[1]));
    if (principal === undefined) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'invalid_token' });
      return;
    }
    req.user = principal;
    next();
  };
}

async function redisLimiter() {
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
  await new Promise((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('error', reject);
  });
  return new RedisRateLimiter({
    redis,
    prefix: `orkesta-bench:${process.pid}:`,
    onFallback: (error) => {
      // The figures would no longer be Redis's: say so and stop.
      console.error(`rate-redis fell back to memory: ${error}`);
      process.exit(1);
    },
  });
}

const app = express();
const key = mode === 'bare' || mode === 'noop' ? undefined : benchKey();

if (mode === 'bare') {
  app.get(ROUTE, listAccounts);
} else if (mode === 'noop') {
  app.use(noop);
  app.get(ROUTE, noop, listAccounts);
} else if (mode === 'passport') {
  const keys = peerKeyTable(key);
  passport.use(
    new BearerStrategy((token, done) => {
      done(null, keys.get(sha256Hex(token)) ?? false);
    }),
  );
  app.use(passport.authenticate('bearer', { session: false }));
  app.get(ROUTE, peerRequireScope('read-only'), listAccounts);
} else if (mode === 'handwritten') {
  app.use(handwrittenBearer(peerKeyTable(key)));
  app.get(ROUTE, peerRequireScope('read-only'), listAccounts);
} else {
  const store = await benchStore(key);
  let rateLimit;
  if (mode === 'rate') rateLimit = { scopes: { 'read-only': UNREACHED_RATE } };
  if (mode === 'rate-redis') {
    rateLimit = { scopes: { 'read-only': UNREACHED_RATE }, limiter: await redisLimiter() };
  }
  app.use(orkestaAuth({ store, requireHttps: false, ...(rateLimit ? { rateLimit } : {}) }));
  app.get(ROUTE, requireScope('read-only'), listAccounts);
}

await serve(createServer(app).listen(0, '127.0.0.1'), { mode, key: key?.token });
