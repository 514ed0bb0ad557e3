// HTTP benchmark of Express 5 over loopback (machinery in http.mjs, the app in
// express-server.mjs): bare, behind a no-op middleware, behind orkestaAuth() +
// requireScope('read-only'), behind passport + passport-http-bearer, behind a hand-written bearer
// middleware, and our auth with rate limiting on (in memory, and through Redis). Same app, same
// request, same run.
//
//   node bench/express-http.mjs            prints the tables; exits 1 when a request failed
//   import { section }                     what bench/run.mjs runs

import { isMain, markdownTable, runAlone } from './common.mjs';
import { httpSection } from './http.mjs';

/** auth / bare: paired rounds, server CPU per request inverted (issue 17). */
export const RATIO_FLOOR = 0.95;
/** auth / passport: the same. */
export const OVER_PASSPORT_FLOOR = 1.2;
/**
 * auth / hand-written: the same. We remember the token where the hand-written check hashes it on
 * every request, so ours must be the cheaper one (issue 17).
 */
export const OVER_HANDWRITTEN_FLOOR = 1.0;

export const EXPRESS = {
  name: 'Express',
  server: new URL('./express-server.mjs', import.meta.url),
  modes: [
    { name: 'bare', auth: 'none' },
    { name: 'noop', auth: 'none' },
    { name: 'auth', auth: 'orkesta' },
    { name: 'passport', auth: 'peer' },
    { name: 'handwritten', auth: 'peer' },
    { name: 'rate', auth: 'orkesta', rateLimited: true },
    { name: 'rate-redis', auth: 'orkesta', rateLimited: true },
  ],
};

const COMPARISONS = [
  ['auth', 'bare'],
  ['noop', 'bare'],
  ['auth', 'noop'],
  ['passport', 'bare'],
  ['handwritten', 'bare'],
  ['auth', 'passport'],
  ['auth', 'handwritten'],
  ['rate', 'auth'],
  ['rate-redis', 'auth'],
];

const ABOUT = `The same Express 5 app (\`GET /v1/accounts\`, a small JSON list; [express-server.mjs](./express-server.mjs))
in child processes, one per mode:

${markdownTable(
  ['mode', 'in front of the route'],
  [
    ['bare', 'nothing'],
    [
      'noop',
      'a no-op `app.use()` and a no-op route middleware: the price of any middleware at all',
    ],
    [
      'auth',
      "`app.use(orkestaAuth({ store, requireHttps: false }))` and `requireScope('read-only')` (lastUsed on, the default)",
    ],
    [
      'passport',
      "`app.use(passport.authenticate('bearer', { session: false }))` with a `passport-http-bearer` strategy that looks the SHA-256 of the token up in a Map, and a scope check on the route",
    ],
    [
      'handwritten',
      'what `express-bearer-token` users write: a regex for `Bearer <token>`, the SHA-256 of the token, a Map lookup; the same scope check',
    ],
    ['rate', "auth with a rate on the key's scope (100,000/s, never reached) kept in memory"],
    [
      'rate-redis',
      'the same with `RedisRateLimiter`: one Lua script round trip to Redis per request',
    ],
  ],
)}

The peers hash with \`crypto.hash\`, Node's fastest one-shot SHA-256, on every request; ours
verifies a key's hash once and then compares the token with the one its cache entry remembers.
autocannon runs in the parent and sends every mode the same request with the same valid key.
The modes are first measured one after the other; those figures are medians over the rounds.
"server CPU µs/req" is the server process's CPU time over the requests it answered, and "server
instructions/req" the instructions it executed (counted by perf, where this machine lets it):
the same cost seen from the server, which still counts when the server was not saturated (a
share of a core well under 100 % means the client or the machine limited the round). Then each
compared pair is measured in paired rounds (below the comparisons).`;

export const section = httpSection({
  id: 'express',
  title: 'HTTP: Express 5 over loopback',
  env: ['BENCH_REDIS_URL'],
  group: EXPRESS,
  about: ABOUT,
  baseline: 'bare',
  comparisons: COMPARISONS,
  targets: [
    {
      of: 'auth',
      over: 'bare',
      figure: 'Express: auth / bare',
      floor: RATIO_FLOOR,
    },
    {
      of: 'auth',
      over: 'passport',
      figure: 'Express: auth / passport + passport-http-bearer',
      floor: OVER_PASSPORT_FLOOR,
    },
    {
      of: 'auth',
      over: 'handwritten',
      figure: 'Express: auth / hand-written regex + SHA-256 + Map',
      floor: OVER_HANDWRITTEN_FLOOR,
    },
  ],
});

if (isMain(import.meta.url)) await runAlone(section);
