// Runs every benchmark and rewrites bench/RESULTS.md with the figures of this one run.
//
//   pnpm bench             (tsc -b && node bench/run.mjs)
//
// Exits 1 when a benchmark failed (a request that did not get a 200, a case that did not
// behave as named). Figures below their floor are marked FAIL in RESULTS.md; they also make
// the exit code 1 when BENCH_STRICT=1.

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import {
  AUTHENTICATE_AIM,
  AUTHENTICATE_FLOOR,
  BATCH,
  formatMicroTable,
  HEADLINE,
  microSettings,
  runAuthenticateBench,
} from './authenticate.mjs';
import { formatInteger, pinThisProcess } from './common.mjs';
import {
  formatConstantTimeComparisons,
  formatConstantTimeTable,
  MIN_DIFFERENCE,
  runConstantTimeBench,
  T_THRESHOLD,
  timingSettings,
} from './constant-time.mjs';
import {
  formatHttpMedians,
  formatHttpRatios,
  formatHttpRounds,
  httpSettings,
  RATIO_AIM,
  RATIO_FLOOR,
  runExpressHttpBench,
} from './express-http.mjs';
import { formatRateLimitTable, runRateLimitBench } from './rate-limit.mjs';
import {
  formatSignedKeysRatios,
  formatSignedKeysTable,
  runSignedKeysBench,
} from './signed-keys.mjs';
import { formatStoreTable, runStoreLookupBench, storeSettings } from './store-lookup.mjs';

const RESULTS = new URL('./RESULTS.md', import.meta.url);
const ENV_VARS = [
  'BENCH_MICRO_TIME',
  'BENCH_MICRO_WARMUP',
  'BENCH_TIMING_ROUNDS',
  'BENCH_TIMING_BATCH',
  'BENCH_ROUNDS',
  'BENCH_DURATION',
  'BENCH_WARMUP',
  'BENCH_CONNECTIONS',
  'BENCH_STORE_SECONDS',
  'BENCH_POSTGRES_URL',
  'BENCH_PIN',
  'BENCH_STRICT',
];

const log = (line) => console.error(`[bench] ${line}`);
const started = new Date();
const loadBefore = os.loadavg();
const micro = microSettings();
const http = httpSettings();
// Pin now, so the core microbenchmarks run on the same single CPU as autocannon later.
if (http.pinning.enabled) pinThisProcess(http.pinning.clientCpu);

log('core: authenticate() microbenchmarks');
const core = await runAuthenticateBench({ log, settings: micro });
console.log(formatMicroTable(core.rows));

log('core: timing of valid, wrong-secret and unknown-id paths');
const timingRun = timingSettings();
const timing = await runConstantTimeBench({ log, settings: timingRun });
console.log(formatConstantTimeComparisons(timing));

log('core: rate limiters');
const rate = await runRateLimitBench({ log, settings: micro });
console.log(formatRateLimitTable(rate));

log('core: signed keys, against express-oauth2-jwt-bearer');
const signed = await runSignedKeysBench({ log, settings: micro });
console.log(formatSignedKeysTable(signed));
console.log(formatSignedKeysRatios(signed));

log('stores: cold lookups, cache off');
const storeRun = storeSettings();
const stores = await runStoreLookupBench({ log, settings: storeRun });
console.log(formatStoreTable(stores));

log('http: Express 5 over loopback, bare / noop / auth / rate / rate-redis');
const web = await runExpressHttpBench({ log, settings: http });
const loadAfter = os.loadavg();
if (web.rounds.length > 0) {
  console.log(formatHttpMedians(web));
  console.log(formatHttpRatios(web));
}

const cpus = os.cpus();
const envSet = ENV_VARS.filter(
  (name) => process.env[name] !== undefined && process.env[name] !== '',
);
const envPrefix = envSet.map((name) => `${name}=${process.env[name]} `).join('');
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `${envPrefix}pnpm bench  (= tsc -b && node --expose-gc bench/run.mjs)`
    : `${envPrefix}node --expose-gc bench/run.mjs`;
const load = (values) => values.map((v) => v.toFixed(2)).join(' ');
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

const headlineRow = core.headline;
const withLastUsed = core.rows.find((r) => r.name.includes('lastUsed on'));
const verdicts = [
  [
    `authenticate(), cached valid key, lastUsed off: verifications/s`,
    formatInteger(AUTHENTICATE_FLOOR),
    formatInteger(AUTHENTICATE_AIM),
    formatInteger(headlineRow.opsPerSecond),
    core.verdict.mark,
  ],
  [
    'Constant time: wrong secret at its 1st vs 32nd character, a / b (key cached; cache off)',
    'same',
    'same',
    timing.claimRatios.map((ratio) => ratio.toFixed(3)).join('; '),
    timing.verdict.mark,
  ],
  [
    'Express: auth / bare, median req/s',
    RATIO_FLOOR.toFixed(2),
    RATIO_AIM.toFixed(2),
    web.rounds.length > 0 ? web.ratios.authOverBare.toFixed(3) : 'n/a',
    web.ok ? web.verdict.mark : 'FAIL (requests failed: see below)',
  ],
  [
    'Express: every request answered 200',
    'all',
    'all',
    `${formatInteger(sumCompleted(web) - sumNon2xx(web))} of ${formatInteger(sumCompleted(web))}`,
    web.ok ? 'pass' : 'FAIL',
  ],
];

const md = [
  '# Benchmark results',
  '',
  'Written by `bench/run.mjs` on every run; do not edit by hand. Every figure comes from the',
  'run described here, and every ratio compares figures of this same run. See',
  '[README.md](./README.md) for what each benchmark measures.',
  '',
  '## Run',
  '',
  '| | |',
  '|---|---|',
  `| date | ${started.toISOString()} |`,
  `| command | \`${command}\` |`,
  `| machine | ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib(os.totalmem())} |`,
  `| os | ${os.type()} ${os.release()} ${os.arch()} |`,
  `| node | ${process.version} |`,
  `| load average (1, 5, 15 min) | before ${load(loadBefore)}; after ${load(loadAfter)} |`,
  `| CPU pinning | ${http.pinning.reason} |`,
  `| core settings | ${formatInteger(micro.timeMs)} ms per case after ${formatInteger(micro.warmupMs)} ms warm-up; ${formatInteger(BATCH)} calls per sample |`,
  `| timing settings | ${timingRun.rounds} rounds × ${formatInteger(timingRun.batch)} calls per case, interleaved |`,
  `| http settings | ${http.rounds} rounds × ${web.modes.length} modes × ${http.durationSeconds} s, after ${http.warmupSeconds} s warm-up per server; ${http.connections} connections, no pipelining |`,
  '',
  '## Verdict',
  '',
  '| figure | floor | aim | measured | result |',
  '|---|--:|--:|--:|---|',
  ...verdicts.map((cells) => `| ${cells.join(' | ')} |`),
  '',
  '## Core: `authenticate()` and its parts',
  '',
  `One thread${http.pinning.enabled ? `, pinned to CPU ${http.pinning.clientCpu}` : ''}, one call after another (each awaited); a sample is a batch of`,
  `${formatInteger(BATCH)} calls, so p99 is the 99th percentile of batch means, per call.`,
  `"× headline time" is the mean time of a case over that of "${HEADLINE}".`,
  'The two reference rows: the SHA-256 a key pays on its first verification (a cached key',
  'compares with the token its entry remembers instead), and the await every async call pays.',
  '',
  formatMicroTable(core.rows),
  '',
  `- lastUsed on (default) / off, verifications/s: ${(withLastUsed.opsPerSecond / headlineRow.opsPerSecond).toFixed(3)}`,
  '- store lookups: made by the store while the case was measured; a cached case makes one only',
  '  when its cache entry outlives its TTL (30 s for a valid key, 5 s for an unknown id).',
  '',
  '## Constant time',
  '',
  'Does the time of an answer say anything about the secret? Every case runs once per round,',
  `${timingRun.rounds} rounds of ${formatInteger(timingRun.batch)} calls, interleaved (pairs compared for sameness back to back, their`,
  'order alternating); a figure is the mean time per call over the rounds, trimmed of the highest',
  'and lowest 10 %. Two cases are compared by their per-round differences (trimmed the same way):',
  `they "differ" when the mean difference is more than ${T_THRESHOLD} standard errors from zero and more than`,
  `${MIN_DIFFERENCE * 100} % of the time itself. The Buffer.equals rows are the control: a comparison that stops at the`,
  'first differing byte, which the method must see as a difference.',
  '',
  formatConstantTimeTable(timing),
  '',
  formatConstantTimeComparisons(timing),
  '',
  '## Rate limiting',
  '',
  'In process, as above (a batch of 1,000 calls per sample). The rate step runs GCRA on the',
  "key's bucket and formats the `RateLimit` fields for the response. Redis: the same script",
  'every instance runs, over loopback, one request in flight (each waits a round trip) and 64.',
  '',
  formatRateLimitTable(rate),
  '',
  `- rate step on / off, \`authenticate()\` on a cached key: ${rate.rateStepOverOff.toFixed(3)}`,
  `- 1,000,000 distinct keys through one default \`MemoryRateLimiter\`: ${formatInteger(rate.growth.buckets)} buckets kept, ` +
    `live heap ${rate.growth.collected ? `+${rate.growth.heapGrowthMiB.toFixed(1)} MiB after a full collection` : 'not measured (run with --expose-gc)'}, ` +
    `RSS +${rate.growth.rssGrowthMiB.toFixed(1)} MiB (RSS keeps what the process once used)`,
  '',
  '## Signed keys: verification, against express-oauth2-jwt-bearer',
  '',
  `One Ed25519 (EdDSA) signing key; a signed key of ${signed.tokenLength} characters issued by \`KeyManager\`.`,
  '`authenticate()` with the verification cache on (the key is remembered after its first',
  'verification: a constant-time comparison, then revocation and expiry) and off (jose checks',
  "the signature and claims on every call; the key's store record stays cached). The peer is",
  "express-oauth2-jwt-bearer's `auth()` middleware, given the same public key as a local JWKS",
  '(`publicKey: { keys }`, `tokenSigningAlg: EdDSA`), verifying the very same JWS (the signed key',
  'without its `orks_live_<id>_` prefix), called in process with a minimal Express-like request.',
  'jose alone is the floor of any verification that checks a signature. Before measuring, every',
  'verifier admits the key and refuses a tampered one. A sample is a batch (see "calls per',
  'sample"); no case asks the store.',
  '',
  formatSignedKeysTable(signed),
  '',
  formatSignedKeysRatios(signed),
  '',
  '## Stores: cold lookups',
  '',
  `\`authenticate()\` with the cache off, so every call asks the store, over ${formatInteger(stores.keys)} keys`,
  'drawn at random; each figure is a store lookup plus the SHA-256 of the presented key.',
  `Latency: one call at a time for ${storeRun.seconds} s, p50 and p99 per call. Throughput: ${stores.inFlight} calls in flight`,
  `for ${storeRun.seconds} s. PostgreSQL is the server on this machine over loopback (a pool of 10, a schema of`,
  'its own); SQLite a WAL file in the temporary directory; MemoryKeyStore is the baseline of',
  'the same run. With the cache on (the default) a key costs one lookup per TTL, not per request.',
  '',
  formatStoreTable(stores),
  '',
  '## HTTP: Express 5 over loopback',
  '',
  'The same app (GET /v1/accounts, a small JSON list) in child processes: **bare**;',
  '**noop**, behind a no-op `app.use()` and a no-op route middleware; **auth**, behind',
  "`app.use(orkestaAuth({ store, requireHttps: false }))` and `requireScope('read-only')`;",
  "**rate** and **rate-redis**, auth with a rate on the key's scope (100,000/s, never reached)",
  'kept in memory, and in Redis with `RedisRateLimiter` (one script per request).',
  'autocannon runs in the parent and sends every mode the same request, with the same valid',
  'cached key. Figures are medians over the rounds; "server CPU µs/req" is the server',
  "process's CPU time (all its threads) over the requests it answered: the same cost seen",
  'from the server, which still counts when the server was not saturated. Other load on the',
  'machine moves both; compare the rounds before trusting a ratio near its floor.',
  '',
  ...(web.rounds.length > 0
    ? [
        formatHttpMedians(web),
        '',
        formatHttpRatios(web),
        '',
        '<details><summary>Every round</summary>',
        '',
        formatHttpRounds(web),
        '',
        '</details>',
      ]
    : ['No round was measured.']),
  '',
  ...(web.failures.length > 0
    ? [
        '## Failures',
        '',
        'These requests did not get a 200, so the HTTP figures above do not measure what they claim:',
        '',
        ...web.failures.map((f) => `- ${f}`),
        '',
      ]
    : []),
];

writeFileSync(RESULTS, `${md.join('\n').trimEnd()}\n`);
log(`wrote ${new URL(RESULTS).pathname}`);

const failedFloors = !core.verdict.pass || !web.verdict.pass || !timing.verdict.pass;
if (!web.ok) {
  log('FAILED: not every HTTP request got a 200:');
  for (const failure of web.failures) log(`  ${failure}`);
  process.exitCode = 1;
} else if (failedFloors && process.env.BENCH_STRICT === '1') {
  log('FAILED: a figure is below its floor (BENCH_STRICT=1)');
  process.exitCode = 1;
}

function sumCompleted(result) {
  return result.rounds.reduce((n, r) => n + r.completed, 0);
}

function sumNon2xx(result) {
  return result.rounds.reduce((n, r) => n + r.non2xx, 0);
}
