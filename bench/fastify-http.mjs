// HTTP benchmark of Fastify 5 over loopback (machinery in http.mjs, the app in
// fastify-server.mjs): bare, with a no-op hook, with the orkestaAuth plugin, and with
// @fastify/bearer-auth, the peer a Fastify user would pick. Same app, same request, same run.
//
//   node bench/fastify-http.mjs            prints the tables; exits 1 when a request failed
//   import { section }                     what bench/run.mjs runs

import { isMain, runAlone } from './common.mjs';
import { httpSection } from './http.mjs';

/** Fastify, auth / bare: paired rounds, server CPU per request inverted. The goal. */
export const FASTIFY_RATIO_FLOOR = 0.9;
/** auth / @fastify/bearer-auth doing the same check: we must be ahead of it. */
export const BEARER_RATIO_FLOOR = 1.0;

export const FASTIFY = {
  name: 'Fastify',
  server: new URL('./fastify-server.mjs', import.meta.url),
  modes: [
    { name: 'bare', auth: 'none' },
    { name: 'noop', auth: 'none' },
    { name: 'auth', auth: 'orkesta' },
    { name: 'bearer', auth: 'peer' },
    { name: 'bearer-keys', auth: 'peer' },
  ],
};

const ABOUT = `The same Fastify 5 app (\`GET /v1/accounts\`, a small JSON list;
[fastify-server.mjs](./fastify-server.mjs)) in five child processes: **bare**; **noop**, an
\`onRequest\` hook that only calls \`done()\` (the price of any hook); **auth**, the
\`orkestaAuth\` plugin (\`{ store, requireHttps: false }\`) with \`config: { orkesta: { scope:
'read-only' } }\` on the route; **bearer**, \`@fastify/bearer-auth\` 10 with an \`auth\` function
doing the check the Express peers do (SHA-256 of the token, a Map lookup, the scope); and
**bearer-keys**, \`@fastify/bearer-auth\` as its README shows it, a \`Set\` of keys compared in
constant time, which knows no workspace, scope, expiry or revocation. Measured as Express is
above. Bare Fastify serves several times what bare Express does here, so the autocannon
process, on its own core, is closer to its limit: read its CPU share below.`;

export const section = httpSection({
  id: 'fastify',
  title: 'HTTP: Fastify 5 over loopback',
  group: FASTIFY,
  about: ABOUT,
  baseline: 'bare',
  comparisons: [
    ['auth', 'bare'],
    ['noop', 'bare'],
    ['auth', 'noop'],
    ['auth', 'bearer'],
    ['auth', 'bearer-keys'],
    ['bearer', 'bare'],
    ['bearer-keys', 'bare'],
  ],
  targets: [
    {
      of: 'auth',
      over: 'bare',
      figure: 'Fastify: auth / bare',
      floor: FASTIFY_RATIO_FLOOR,
    },
    {
      of: 'auth',
      over: 'bearer',
      figure: 'Fastify: auth / @fastify/bearer-auth, same check',
      floor: BEARER_RATIO_FLOOR,
    },
    { of: 'auth', over: 'bearer-keys', figure: 'Fastify: auth / @fastify/bearer-auth, keys Set' },
  ],
});

if (isMain(import.meta.url)) await runAlone(section);
