// Core microbenchmarks of @orkesta/auth (the BUILT package: run `tsc -b` first).
//
//   node bench/authenticate.mjs            prints a markdown table
//   import { section }                     what bench/run.mjs runs
//   import { runAuthenticateBench }        returns the rows
//
// Everything runs on the main thread, one call after another. Each tinybench sample is a batch
// of BATCH calls, so the timer's own cost (tens of ns) and its resolution do not swamp
// operations that take about a microsecond; per-call figures are the batch figures / BATCH.

import { hash } from 'node:crypto';
import {
  createAuthenticator,
  createKeyManager,
  keyChecksum,
  MemoryKeyStore,
  parseApiKey,
} from '@orkesta/auth';
import { authorizationFromRawHeaders, extractBearerToken } from '@orkesta/auth/adapter';
// Loaded for what it does to V8, as in every application that uses ioredis (and in `pnpm bench`,
// whose rate-limit section imports it): its `class VerbatimString extends String` makes
// `text.charCodeAt(i)` six times slower for the life of the process (see
// packages/core/src/constant-time.ts). The core's figures must hold in such a process.
import 'ioredis';
import { Bench } from 'tinybench';
// The format step is not public API: it is read from the built core directly.
import { presentedOpaqueKey } from '../packages/core/dist/steps/format.js';
import {
  formatInteger,
  isMain,
  markdownTable,
  median,
  perCall,
  positiveNumber,
  runAlone,
  verdictRow,
} from './common.mjs';

/** Verifications per second of `authenticate()` on a cached valid key (lastUsed off). */
export const AUTHENTICATE_FLOOR = 500_000;
export const AUTHENTICATE_AIM = 1_000_000;

/** Calls per tinybench sample. */
export const BATCH = 1_000;

export const HEADLINE = 'authenticate(): cached valid key, lastUsed off';

/** Issue 17's floors, for the calls as an adapter makes them (see `AdapterRequest`). */
export const ADAPTER_ADMISSION_FLOOR = 3_000_000;
export const ADAPTER_BAD_CHECKSUM_FLOOR = 2_000_000;
/** The format step of a 60-character key, ns: at most. */
export const FORMAT_STEP_CEILING_NS = 250;

export const ADAPTER_ADMISSION =
  'authenticateMaybeSync(): cached valid key, lastUsed on (default), as an adapter calls it';
export const ADAPTER_BAD_CHECKSUM =
  'authenticateMaybeSync(): bad checksum, throttle off, as an adapter calls it';
export const FORMAT_STEP = 'format step: presentedOpaqueKey(), 60-character key';

/** Settings from the environment, with the defaults `pnpm bench` uses. */
export function microSettings(env = process.env) {
  return {
    timeMs: positiveNumber(env, 'BENCH_MICRO_TIME', 1_500),
    warmupMs: positiveNumber(env, 'BENCH_MICRO_WARMUP', 500),
    rounds: positiveNumber(env, 'BENCH_MICRO_ROUNDS', 5, { integer: true }),
  };
}

/** A MemoryKeyStore that counts lookups, to show which paths never reach the store. */
export class CountingStore extends MemoryKeyStore {
  lookups = 0;
  async findById(id) {
    this.lookups++;
    return super.findById(id);
  }
}

/** Runs every case's measured function for `ms` milliseconds, unmeasured, one after another. */
export async function warmUp(cases, ms, measured = (c) => c.fn) {
  for (const c of cases) {
    const fn = measured(c);
    const until = performance.now() + ms;
    while (performance.now() < until) await fn();
  }
}

/**
 * Adds every case to the tinybench `bench` (`measured(c)` is the function it times), adding to
 * `lookups` (case name → count) the lookups `store` (a CountingStore) gets while the case is
 * measured, warm-up excluded.
 */
export function addCountedCases(bench, cases, store, lookups, measured = (c) => c.fn) {
  for (const c of cases) {
    let before = 0;
    bench.add(c.name, measured(c), {
      beforeAll() {
        before = store.lookups;
      },
      afterAll(mode) {
        if (mode === 'run') {
          lookups.set(c.name, (lookups.get(c.name) ?? 0) + store.lookups - before);
        }
      },
    });
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(length, seed) {
  let out = '';
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out += BASE62[x % 62];
  }
  return out;
}

/** A well-formed key (right prefix, length and checksum) whose id no store holds. */
function unknownKey() {
  const body = `ork_test_${base62(12, 7)}_${base62(32, 11)}`;
  return body + keyChecksum(body);
}

/** `key` with its last checksum character changed: rejected by the format step. */
function badChecksumKey(key) {
  const last = key.at(-1);
  return key.slice(0, -1) + (last === '0' ? '1' : '0');
}

function request(token, ip = '127.0.0.1') {
  return {
    authorization: `Bearer ${token}`,
    secure: false,
    ip,
    path: '/v1/accounts',
  };
}

/** `IncomingMessage.rawHeaders` of a request as curl or an SDK sends it, the key among them. */
function rawHeaders(token) {
  return [
    'Host',
    'api.example.com',
    'User-Agent',
    'orkesta-sdk/1.4.0 node/20.20.2',
    'Accept',
    'application/json',
    'Accept-Encoding',
    'gzip, deflate, br',
    'Authorization',
    `Bearer ${token}`,
    'X-Request-Id',
    '5b0c9f7e-3a51-4c1e-9a55-0d6f3c2b8e11',
    'Connection',
    'keep-alive',
  ];
}

/**
 * A request as the Express, Koa and Fastify adapters make one for every call: a new object whose
 * Authorization getter reads the field from `rawHeaders` (so that two copies are refused), and
 * whose other fields are read only when a step or a hook asks.
 */
class AdapterRequest {
  #raw;
  constructor(raw) {
    this.#raw = raw;
  }
  get authorization() {
    return authorizationFromRawHeaders(this.#raw);
  }
  get secure() {
    return false;
  }
  get ip() {
    return '127.0.0.1';
  }
  get path() {
    return '/v1/accounts';
  }
}

/** Runs every case; returns rows in a fixed order. Throws when a case does not behave as named. */
export async function runAuthenticateBench({ log = () => {}, settings = microSettings() } = {}) {
  const store = new CountingStore();
  const manager = createKeyManager({ store });
  const issued = await manager.create({
    workspaceId: 'ws_bench',
    name: 'bench-key',
    scope: 'read-only',
    environment: 'test',
  });
  const key = issued.key;

  const lean = createAuthenticator({ store, requireHttps: false, lastUsed: false });
  const withLastUsed = createAuthenticator({ store, requireHttps: false });
  // Refusals are measured with the brute-force throttle off: with it on, one address refused
  // 100 times a minute gets 429 before any check, and the case would measure that instead.
  const refusing = createAuthenticator({
    store,
    requireHttps: false,
    lastUsed: false,
    failedAttempts: false,
  });
  // The throttle's own answer, to a client it holds back (its allowance spent below). 100
  // failures a day rather than the default minute, so that no allowance comes back while the
  // case runs (by default one does every 0.6 s, and that request would be checked in full).
  const throttling = createAuthenticator({
    store,
    requireHttps: false,
    lastUsed: false,
    failedAttempts: { limit: 100, windowSeconds: 86_400 },
  });

  const valid = request(key);
  const unknown = request(unknownKey());
  const badChecksum = request(badChecksumKey(key));
  const blocked = request(badChecksumKey(key), '198.51.100.7');
  const header = valid.authorization;
  const raw = rawHeaders(key);
  const rawBadChecksum = rawHeaders(badChecksumKey(key));
  const environments = new Set(['live', 'test']);

  // Each case must do what its name says, or its figure means nothing.
  await expectOk(lean, valid);
  await expectOk(withLastUsed, valid);
  await expectRejected(refusing, unknown, 'invalid_api_key');
  await expectRejected(refusing, badChecksum, 'invalid_api_key');
  for (let i = 0; i < 100; i++) await expectRejected(throttling, blocked, 'invalid_api_key');
  await expectRejected(throttling, blocked, 'too_many_failed_attempts');
  if (extractBearerToken(header) !== key)
    throw new Error('extractBearerToken did not return the key');
  if (authorizationFromRawHeaders(raw) !== header) {
    throw new Error('authorizationFromRawHeaders did not find the Authorization field');
  }
  // The adapter-way cases must be answered synchronously, as a cached key and a refused format are.
  const admitted = withLastUsed.authenticateMaybeSync(new AdapterRequest(raw));
  if (admitted instanceof Promise || !admitted.ok)
    throw new Error('a cached key was not admitted at once');
  refused(refusing.authenticateMaybeSync(new AdapterRequest(rawBadChecksum)), 'invalid_api_key');
  if (presentedOpaqueKey(key, environments)?.id !== issued.record.id) {
    throw new Error('presentedOpaqueKey did not read the key');
  }
  if (presentedOpaqueKey(badChecksumKey(key), environments) !== undefined) {
    throw new Error('presentedOpaqueKey accepted a bad checksum');
  }
  if (parseApiKey(key)?.id !== issued.record.id)
    throw new Error('parseApiKey did not parse the key');
  if (parseApiKey(badChecksum.authorization.slice(7)) !== undefined) {
    throw new Error('parseApiKey accepted a bad checksum');
  }

  let sink = 0;
  /** A case of `authenticator` refusing `req` with `code`: every call is checked. */
  const refusal = (what, authenticator, req, code) => ({
    name: `authenticate(): ${what}`,
    kind: 'async',
    fn: async () => {
      for (let i = 0; i < BATCH; i++) sink += refused(await authenticator.authenticate(req), code);
    },
  });
  const cases = [
    {
      name: HEADLINE,
      kind: 'async',
      fn: async () => {
        for (let i = 0; i < BATCH; i++) if ((await lean.authenticate(valid)).ok) sink++;
      },
    },
    {
      name: 'authenticate(): cached valid key, lastUsed on (default)',
      kind: 'async',
      fn: async () => {
        for (let i = 0; i < BATCH; i++) if ((await withLastUsed.authenticate(valid)).ok) sink++;
      },
    },
    {
      name: ADAPTER_ADMISSION,
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          if (withLastUsed.authenticateMaybeSync(new AdapterRequest(raw)).ok) sink++;
        }
      },
    },
    refusal('negative-cache hit (unknown id), throttle off', refusing, unknown, 'invalid_api_key'),
    refusal('bad checksum, throttle off', refusing, badChecksum, 'invalid_api_key'),
    refusal(
      'client held back by the throttle (429)',
      throttling,
      blocked,
      'too_many_failed_attempts',
    ),
    {
      name: ADAPTER_BAD_CHECKSUM,
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          sink += refused(
            refusing.authenticateMaybeSync(new AdapterRequest(rawBadChecksum)),
            'invalid_api_key',
          );
        }
      },
    },
    {
      name: 'header: authorizationFromRawHeaders(), 7 fields',
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) sink += authorizationFromRawHeaders(raw).length;
      },
    },
    {
      name: 'header: extractBearerToken()',
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) sink += extractBearerToken(header).length;
      },
    },
    {
      name: FORMAT_STEP,
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          if (presentedOpaqueKey(key, environments) !== undefined) sink++;
        }
      },
    },
    {
      name: 'parseApiKey() alone (valid key)',
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) if (parseApiKey(key) !== undefined) sink++;
      },
    },
    {
      name: 'reference: crypto.hash(sha256) of the key',
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) sink += hash('sha256', key, 'buffer')[0];
      },
    },
    {
      name: 'reference: await of an async no-op',
      kind: 'async',
      fn: async () => {
        for (let i = 0; i < BATCH; i++) if ((await asyncNoop(valid)).ok) sink++;
      },
    },
  ];

  // Warm up every path before any is measured, so the JIT sees all the shapes early and the
  // caches hold what each case expects (the unknown id sits in the negative cache).
  log(`warming up (${settings.warmupMs} ms per case)…`);
  await warmUp(cases, settings.warmupMs);

  // Store lookups made while each case is measured: the cached cases should make none, except
  // when a cache entry's TTL (30 s valid, 5 s unknown) lapses during the case.
  const lookups = new Map(cases.map((c) => [c.name, 0]));
  // Rounds, each measuring every case for its share of the time: this machine's speed swings
  // for seconds at a time, and one long measurement per case would give a case that fell in a
  // slow stretch a figure of that stretch. A case's figures are medians over the rounds.
  const perRound = new Map(cases.map((c) => [c.name, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    const bench = new Bench({
      time: settings.timeMs / settings.rounds,
      iterations: 32,
      warmupTime: Math.min(250, settings.warmupMs),
      warmupIterations: 8,
      throws: true,
    });
    addCountedCases(bench, cases, store, lookups);
    log(
      `round ${round} of ${settings.rounds}: ${cases.length} cases, ` +
        `${Math.round(settings.timeMs / settings.rounds)} ms each, ${BATCH} calls per sample…`,
    );
    await bench.run();
    for (const c of cases) perRound.get(c.name).push(perCall(bench, c.name, BATCH));
  }

  for (const authenticator of [lean, withLastUsed, refusing, throttling]) {
    await authenticator.close();
  }
  if (sink === 0) throw new Error('nothing was computed');

  const rows = cases.map((c) => ({
    name: c.name,
    ...medianOfRounds(perRound.get(c.name)),
    storeLookups: lookups.get(c.name) ?? Number.NaN,
  }));
  const headline = rows.find((r) => r.name === HEADLINE);
  for (const row of rows) row.vsHeadline = row.meanNs / headline.meanNs;
  return {
    rows,
    headline,
    storeLookups: rows.reduce((n, r) => n + r.storeLookups, 0),
    settings: { ...settings, batch: BATCH },
  };
}

/** A case's figures over the rounds: median time per call (and its rate), median p99 and rme. */
function medianOfRounds(rounds) {
  const meanNs = median(rounds.map((r) => r.meanNs));
  return {
    opsPerSecond: 1e9 / meanNs,
    meanNs,
    p99Ns: median(rounds.map((r) => r.p99Ns)),
    rmePercent: median(rounds.map((r) => r.rmePercent)),
    samples: rounds.reduce((n, r) => n + r.samples, 0),
    slowestRoundNs: Math.max(...rounds.map((r) => r.meanNs)),
    fastestRoundNs: Math.min(...rounds.map((r) => r.meanNs)),
  };
}

/** 1 when `result` is the refusal `code`; throws otherwise, so a case cannot measure another path. */
function refused(result, code) {
  if (result.ok || result.error.code !== code) {
    throw new Error(`expected ${code}, got ${result.ok ? 'ok' : result.error.code}`);
  }
  return 1;
}

async function asyncNoop(value) {
  return { ok: value !== undefined };
}

async function expectOk(authenticator, req) {
  const result = await authenticator.authenticate(req);
  if (!result.ok) throw new Error(`a valid key was refused: ${result.error.code}`);
}

async function expectRejected(authenticator, req, code) {
  const result = await authenticator.authenticate(req);
  if (result.ok || result.error.code !== code) {
    throw new Error(`expected ${code}, got ${result.ok ? 'ok' : result.error.code}`);
  }
}

/** The rows as a markdown table. */
export function formatMicroTable(rows) {
  return markdownTable(
    [
      'case',
      'ops/s',
      'mean ns/op',
      'p99 ns/op (of batches)',
      '× headline time',
      '± rme',
      'samples',
      'store lookups',
      'mean ns/op, fastest – slowest round',
    ],
    rows.map((r) => [
      r.name,
      formatInteger(r.opsPerSecond),
      formatInteger(r.meanNs),
      formatInteger(r.p99Ns),
      r.vsHeadline.toFixed(2),
      `${r.rmePercent.toFixed(1)} %`,
      String(r.samples),
      String(r.storeLookups),
      `${formatInteger(r.fastestRoundNs)} – ${formatInteger(r.slowestRoundNs)}`,
    ]),
    { rightAligned: [1, 2, 3, 4, 5, 6, 7, 8] },
  );
}

export const section = {
  id: 'core',
  title: 'Core: `authenticate()` and its parts',
  env: ['BENCH_MICRO_TIME', 'BENCH_MICRO_WARMUP', 'BENCH_MICRO_ROUNDS'],
  async run({ log, pinning }) {
    const settings = microSettings();
    const core = await runAuthenticateBench({ log, settings });
    const row = (name) => core.rows.find((r) => r.name === name);
    const withLastUsed = row('authenticate(): cached valid key, lastUsed on (default)');
    const body = [
      `One thread${pinning?.enabled ? `, pinned to CPU ${pinning.clientCpu}` : ''}, one call after another; a sample is a batch of`,
      `${formatInteger(BATCH)} calls, so p99 is the 99th percentile of batch means, per call. Every case is measured in`,
      `${settings.rounds} rounds, each round measuring every case in turn, and its figures are medians over the rounds:`,
      'the speed of this shared machine swings for seconds at a time, and a single stretch per case',
      'would give the case that fell in a slow one the figure of that stretch (the last column shows',
      'how far the rounds of a case lay apart).',
      `"× headline time" is the mean time of a case over that of "${HEADLINE}".`,
      'Refusals are measured with the brute-force throttle off (`failedAttempts: false`), except',
      'the case of a client it holds back: with it on, a client refused 100 times in a minute gets',
      '429 before any other check. The header rows are what every request pays before the',
      'pipeline: the adapters read the Authorization field from `rawHeaders` (so that a request',
      'with two is refused), then the core parses it. The two reference rows: the SHA-256 a key',
      'pays on its first verification (a cached key compares with the token its entry remembers',
      'instead), and the await every async call pays.',
      '',
      'Two ways of calling: `authenticate()` rows await every call, as an application does; the',
      'rows "as an adapter calls it" call `authenticateMaybeSync()` without an await, each with a',
      'new request object whose Authorization getter reads `rawHeaders`, as the Express, Koa and',
      'Fastify adapters do for every request (a cached key and a refused format are answered at',
      'once, without a promise). What the awaited rows add is the async call and its await: the',
      'reference row, plus the promise `authenticate()` makes. The format step is what a presented',
      'opaque key passes before it may touch the cache or the store: prefix, length, alphabet and',
      'CRC-32 checksum, in one pass over the characters.',
      '',
      'The process has loaded ioredis, as every application using it has: its `class … extends',
      'String` makes V8 stop inlining `text.charCodeAt(i)` for the life of the process (see',
      '`packages/core/src/constant-time.ts`), and the core must be fast there too.',
      '',
      formatMicroTable(core.rows),
      '',
      `- lastUsed on (default) / off, verifications/s: ${(withLastUsed.opsPerSecond / core.headline.opsPerSecond).toFixed(3)}`,
      '- store lookups: made by the store while the case was measured; a cached case makes one only',
      '  when its cache entry outlives its TTL (30 s for a valid key, 5 s for an unknown id).',
    ].join('\n');
    return {
      settings: `core: ${formatInteger(settings.timeMs)} ms per case in ${settings.rounds} rounds, after ${formatInteger(settings.warmupMs)} ms warm-up; ${formatInteger(BATCH)} calls per sample`,
      verdicts: [
        verdictRow({
          figure: `${HEADLINE}: verifications/s`,
          value: core.headline.opsPerSecond,
          floor: AUTHENTICATE_FLOOR,
          aim: AUTHENTICATE_AIM,
          format: formatInteger,
        }),
        verdictRow({
          figure: `${ADAPTER_ADMISSION}: verifications/s`,
          value: row(ADAPTER_ADMISSION).opsPerSecond,
          floor: ADAPTER_ADMISSION_FLOOR,
          format: formatInteger,
        }),
        verdictRow({
          figure: `${ADAPTER_BAD_CHECKSUM}: refusals/s`,
          value: row(ADAPTER_BAD_CHECKSUM).opsPerSecond,
          floor: ADAPTER_BAD_CHECKSUM_FLOOR,
          format: formatInteger,
        }),
        verdictRow({
          figure: `${FORMAT_STEP}: mean ns`,
          value: row(FORMAT_STEP).meanNs,
          floor: FORMAT_STEP_CEILING_NS,
          lowerIsBetter: true,
          format: formatInteger,
        }),
      ],
      body,
      failures: [],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
