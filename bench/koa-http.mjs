// HTTP benchmark of Koa 3 over loopback (machinery in http.mjs, the app in koa-server.mjs):
// bare, behind a no-op middleware in the same two places, and behind orkestaAuth() +
// requireScope('read-only'). Same app, same request, same run.
//
//   node bench/koa-http.mjs                prints the tables; exits 1 when a request failed
//   import { section }                     what bench/run.mjs runs

import { isMain, runAlone } from './common.mjs';
import { httpSection } from './http.mjs';

/** auth / bare: paired rounds, server CPU per request inverted (issue 17). */
export const RATIO_FLOOR = 0.93;

export const KOA = {
  name: 'Koa',
  server: new URL('./koa-server.mjs', import.meta.url),
  modes: [
    { name: 'bare', auth: 'none' },
    { name: 'noop', auth: 'none' },
    { name: 'auth', auth: 'orkesta' },
  ],
};

const ABOUT = `The same Koa 3 app (\`GET /v1/accounts\` on \`@koa/router\`, a small JSON list;
[koa-server.mjs](./koa-server.mjs)) in three child processes: **bare**; **noop**, a no-op
\`app.use()\` middleware and a no-op route middleware (the price of any middleware in the two
places ours goes); and **auth**, behind \`app.use(orkestaAuth({ store, requireHttps: false }))\`
and \`requireScope('read-only')\` on the route. Measured as Express is above.`;

export const section = httpSection({
  id: 'koa',
  title: 'HTTP: Koa 3 over loopback',
  group: KOA,
  about: ABOUT,
  baseline: 'bare',
  comparisons: [
    ['auth', 'bare'],
    ['noop', 'bare'],
    ['auth', 'noop'],
  ],
  targets: [{ of: 'auth', over: 'bare', figure: 'Koa: auth / bare', floor: RATIO_FLOOR }],
});

if (isMain(import.meta.url)) await runAlone(section);
