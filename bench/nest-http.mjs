// HTTP benchmark of NestJS 12 over loopback (machinery in http.mjs, the app in nest-server.mjs):
// on Fastify and on Express, each bare and with OrkestaAuthModule's global guard and
// @Scope('read-only'). Same app, same request, same run.
//
//   node bench/nest-http.mjs               prints the tables; exits 1 when a request failed
//   import { section }                     what bench/run.mjs runs

import { isMain, runAlone } from './common.mjs';
import { httpSection } from './http.mjs';

/** auth / bare on either platform: paired rounds, server CPU per request inverted (issue 17). */
export const RATIO_FLOOR = 0.95;

export const NEST = {
  name: 'Nest',
  server: new URL('./nest-server.mjs', import.meta.url),
  modes: [
    { name: 'fastify-bare', auth: 'none' },
    { name: 'fastify-noop', auth: 'none' },
    { name: 'fastify-auth', auth: 'orkesta' },
    { name: 'express-bare', auth: 'none' },
    { name: 'express-auth', auth: 'orkesta' },
  ],
};

const ABOUT = `The same NestJS 12 app (a controller answering \`GET /v1/accounts\` with a small JSON list;
[nest-server.mjs](./nest-server.mjs)) on the Fastify platform and on the Express platform, each
**bare** and with **auth**: \`OrkestaAuthModule.forRoot({ store, requireHttps: false })\` (its global
guard and exception filter) and \`@Scope('read-only')\` on the handler; on Fastify also **noop**, a
global guard that admits everything (the price of any guard at all). Five child processes,
measured as Express is above. Fastify leaves less time per request to hide in, so the guard's
cost shows most there; both platforms have the same target. Read its paired ratio with
the "all modes in turn" columns: with Fastify the one autocannon process uses most of its core (see its
share below), and here the paired rounds have put fastify-auth level with fastify-bare (1.01 to
1.03) while the rounds of all modes in turn put it at 0.88, for reasons not yet found.`;

export const section = httpSection({
  id: 'nest',
  title: 'HTTP: NestJS 12 on Fastify and on Express, over loopback',
  group: NEST,
  about: ABOUT,
  baseline: 'fastify-bare',
  comparisons: [
    ['fastify-auth', 'fastify-bare'],
    ['fastify-noop', 'fastify-bare'],
    ['fastify-auth', 'fastify-noop'],
    ['express-auth', 'express-bare'],
    ['fastify-bare', 'express-bare'],
  ],
  targets: [
    {
      of: 'fastify-auth',
      over: 'fastify-bare',
      figure: 'Nest on Fastify: auth / bare',
      floor: RATIO_FLOOR,
    },
    {
      of: 'express-auth',
      over: 'express-bare',
      figure: 'Nest on Express: auth / bare',
      floor: RATIO_FLOOR,
    },
  ],
});

if (isMain(import.meta.url)) await runAlone(section);
