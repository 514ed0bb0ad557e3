// Cold lookups: authenticate() with the cache off, so every request asks the store, over
// 10,000 keys, on PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test,
// a schema of its own, dropped afterwards), on SQLite (a temporary file) and, as the baseline
// of the same run, on MemoryKeyStore. Built packages: `tsc -b` first.
//
//   node bench/store-lookup.mjs           prints a markdown table
//   import { section }                    what bench/run.mjs runs
//   import { runStoreLookupBench }        returns the rows
//
// Latency and throughput: one request at a time, then 32 in flight, p50 and p99 of each
// authenticate() call and lookups per second. Keys are drawn at random from the 10,000, each a
// real key whose SHA-256 is checked, so a figure is a store round trip plus one hash.
//
// Single flight, on PostgreSQL: with the cache on (the default options), 100 concurrent
// authenticate() calls of one key not yet cached must send exactly one lookup by id to the
// server; the store runs on a pg.Pool of the bench's own whose `query` counts them. 20 rounds,
// a different key each.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator, MemoryKeyStore } from '@orkesta/auth';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { SqliteKeyStore } from '@orkesta/auth-store-sqlite';
import pg from 'pg';
import { formatInteger, isMain, markdownTable, positiveNumber, runAlone } from './common.mjs';
import { benchRecords } from './server-common.mjs';

const KEYS = 10_000;
const IN_FLIGHT = 32;
const SINGLE_FLIGHT_ROUNDS = 20;
const SINGLE_FLIGHT_REQUESTS = 100;
/** The text of `PostgresKeyStore.findById`: `SELECT <columns> FROM "<schema>".api_keys WHERE id = $1`. */
const LOOKUP_BY_ID = /^SELECT [^;]+ FROM "[^"]+"\.api_keys WHERE id = \$1$/;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function storeSettings(env = process.env) {
  return { seconds: positiveNumber(env, 'BENCH_STORE_SECONDS', 3) };
}

async function measure(store, keys, settings) {
  const auth = createAuthenticator({
    store,
    requireHttps: false,
    cache: false,
    lastUsed: false,
    failedAttempts: false,
    storeTimeoutMs: 10_000,
  });
  const pick = () => keys[Math.floor(Math.random() * keys.length)].token;
  const once = async () => {
    const result = await auth.authenticate({ authorization: `Bearer ${pick()}`, secure: false });
    if (!result.ok) throw new Error(`a valid key was refused: ${result.error.code}`);
  };
  for (let i = 0; i < 200; i++) await once(); // warm-up: connections, statements, JIT

  const latencies = [];
  let end = performance.now() + settings.seconds * 1_000;
  while (performance.now() < end) {
    const start = performance.now();
    await once();
    latencies.push(performance.now() - start);
  }

  const concurrent = [];
  const started = performance.now();
  end = started + settings.seconds * 1_000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        await once();
        concurrent.push(performance.now() - start);
      }
    }),
  );
  const perSecond = concurrent.length / ((performance.now() - started) / 1_000);
  await auth.close();
  return {
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    sequential: latencies.length / settings.seconds,
    p50InFlightMs: quantile(concurrent, 0.5),
    p99InFlightMs: quantile(concurrent, 0.99),
    perSecond,
  };
}

/** The `q` quantile of `values` (sorts them in place). */
function quantile(values, q) {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(q * values.length))];
}

/**
 * Wraps `pool.query` to record the id of every lookup by id sent through it, and nothing else
 * the pool carries (the schema check, `pg_notify`). The array fills as queries go out.
 */
function lookupsThrough(pool) {
  const ids = [];
  const query = pool.query.bind(pool);
  pool.query = (...args) => {
    const [first, second] = args;
    const text = typeof first === 'string' ? first : first?.text;
    const values = Array.isArray(second) ? second : first?.values;
    if (typeof text === 'string' && LOOKUP_BY_ID.test(text)) ids.push(String(values?.[0]));
    return query(...args);
  };
  return ids;
}

/** Resolves once the feed of `store` has its LISTEN in place (and has reset the caches). */
function feedListening(store) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the change feed did not LISTEN within 5 s')),
      5_000,
    );
    const done = () => {
      clearTimeout(timer);
      stop();
      resolve();
    };
    const stop = store.changes.subscribe(() => {}, done);
    if (store.changes.listening) done();
  });
}

/**
 * Rounds of 100 concurrent authenticate() calls of one key not yet cached, a different key
 * each round, against a PostgresKeyStore on `schema` (which holds `keys`) with the cache on:
 * the lookups by id each round sent to PostgreSQL, and the time from firing to all settled.
 */
async function measureSingleFlight(schema, keys) {
  const pool = new pg.Pool({
    connectionString: POSTGRES_URL,
    max: 10,
    statement_timeout: 2_000,
    query_timeout: 3_000,
    connectionTimeoutMillis: 5_000,
    application_name: 'orkesta-bench',
  });
  pool.on('error', () => {});
  const lookups = lookupsThrough(pool);
  const store = new PostgresKeyStore({ pool, schema });
  const auth = createAuthenticator({ store, requireHttps: false, lastUsed: false });
  const rounds = [];
  const failures = [];
  try {
    // The feed empties the caches, lookups under way included, once its LISTEN is in place.
    await feedListening(store);
    // Warm-up on a key no round uses: the schema check, a connection.
    const warm = await auth.authenticate({
      authorization: `Bearer ${keys[0].token}`,
      secure: false,
    });
    if (!warm.ok) throw new Error(`a valid key was refused: ${warm.error.code}`);
    for (let round = 1; round <= SINGLE_FLIGHT_ROUNDS; round++) {
      const { token, record } = keys[round];
      const request = { authorization: `Bearer ${token}`, secure: false };
      lookups.length = 0;
      const start = performance.now();
      const results = await Promise.all(
        Array.from({ length: SINGLE_FLIGHT_REQUESTS }, () => auth.authenticate(request)),
      );
      const ms = performance.now() - start;
      const queries = lookups.length;
      rounds.push({ queries, ms });
      const refused = results.filter((r) => !r.ok).map((r) => r.error.code);
      if (refused.length > 0) {
        failures.push(
          `PostgreSQL single flight, round ${round}: ${refused.length} of ${SINGLE_FLIGHT_REQUESTS} refused (${[...new Set(refused)].join(', ')})`,
        );
      }
      if (queries !== 1 || lookups[0] !== record.id) {
        failures.push(
          `PostgreSQL single flight, round ${round}: ${queries} lookups by id sent for one uncached key, not 1${queries === 1 ? ' (of another id)' : ''}`,
        );
      }
    }
  } finally {
    await auth.close();
    await store.close();
    await pool.end();
  }
  const queries = rounds.map((r) => r.queries);
  return {
    rounds: rounds.length,
    requests: SINGLE_FLIGHT_REQUESTS,
    minQueries: Math.min(...queries),
    maxQueries: Math.max(...queries),
    p50RoundMs: quantile(
      rounds.map((r) => r.ms),
      0.5,
    ),
    failures,
  };
}

export async function runStoreLookupBench({ log = () => {}, settings = storeSettings() } = {}) {
  log(`making ${formatInteger(KEYS)} keys…`);
  const keys = benchRecords(KEYS);
  const rows = [];

  log('MemoryKeyStore…');
  const memory = new MemoryKeyStore();
  for (const { record } of keys) await memory.insert(record);
  rows.push({ store: 'MemoryKeyStore (baseline)', ...(await measure(memory, keys, settings)) });

  log('SqliteKeyStore…');
  const dir = mkdtempSync(join(tmpdir(), 'orkesta-bench-'));
  try {
    const sqlite = new SqliteKeyStore({ filename: join(dir, 'keys.db') });
    for (const { record } of keys) await sqlite.insert(record);
    rows.push({ store: 'SqliteKeyStore (WAL file)', ...(await measure(sqlite, keys, settings)) });
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  log('PostgresKeyStore…');
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  let singleFlight;
  try {
    const postgres = new PostgresKeyStore({
      connectionString: POSTGRES_URL,
      schema,
      migrate: true,
    });
    for (let i = 0; i < keys.length; i += 500) {
      await Promise.all(keys.slice(i, i + 500).map(({ record }) => postgres.insert(record)));
    }
    rows.push({
      store: 'PostgresKeyStore (loopback)',
      ...(await measure(postgres, keys, settings)),
    });
    await postgres.close();
    log('PostgresKeyStore: single flight…');
    singleFlight = await measureSingleFlight(schema, keys);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
  }
  const baseline = rows[0].perSecond;
  for (const row of rows) row.vsMemory = row.perSecond / baseline;
  return { rows, singleFlight, keys: KEYS, inFlight: IN_FLIGHT, settings };
}

export function formatStoreTable(result) {
  return markdownTable(
    [
      'store',
      'p50 ms (1 in flight)',
      'p99 ms (1 in flight)',
      'lookups/s (1 in flight)',
      `p50 ms (${result.inFlight} in flight)`,
      `p99 ms (${result.inFlight} in flight)`,
      `lookups/s (${result.inFlight} in flight)`,
      '× memory',
    ],
    result.rows.map((r) => [
      r.store,
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      formatInteger(r.sequential),
      r.p50InFlightMs.toFixed(3),
      r.p99InFlightMs.toFixed(3),
      formatInteger(r.perSecond),
      r.vsMemory.toFixed(3),
    ]),
    { rightAligned: [1, 2, 3, 4, 5, 6, 7] },
  );
}

export function formatSingleFlightTable(singleFlight) {
  const { minQueries, maxQueries } = singleFlight;
  return markdownTable(
    [
      'store',
      'rounds',
      'requests per round',
      'queries per round (min–max)',
      'p50 ms per round (firing to all settled)',
    ],
    [
      [
        'PostgresKeyStore (loopback), cache on',
        formatInteger(singleFlight.rounds),
        formatInteger(singleFlight.requests),
        `${minQueries}–${maxQueries}`,
        singleFlight.p50RoundMs.toFixed(3),
      ],
    ],
    { rightAligned: [1, 2, 3, 4] },
  );
}

export const section = {
  id: 'stores',
  title: 'Stores: cold lookups',
  env: ['BENCH_STORE_SECONDS', 'BENCH_POSTGRES_URL'],
  async run({ log }) {
    const settings = storeSettings();
    const stores = await runStoreLookupBench({ log, settings });
    const sf = stores.singleFlight;
    const body = [
      `\`authenticate()\` with the cache off, so every call asks the store, over ${formatInteger(stores.keys)} keys`,
      'drawn at random; each figure is a store lookup plus the SHA-256 of the presented key.',
      `Each store runs one call at a time for ${settings.seconds} s, then ${stores.inFlight} calls in flight for ${settings.seconds} s;`,
      'in both phases every call is timed (p50 and p99 per call, from the call to its answer, so at',
      `${stores.inFlight} in flight it includes the wait behind the others) and the calls are counted (lookups/s).`,
      'PostgreSQL is the server on this machine over loopback (a pool of 10, a schema of its own);',
      'SQLite a WAL file in the temporary directory; MemoryKeyStore is the baseline of the same run.',
      'With the cache on (the default) a key costs one lookup per TTL, not per request.',
      '',
      formatStoreTable(stores),
      '',
      `Single flight: on the same schema, a PostgresKeyStore on a \`pg.Pool\` of the bench's own and`,
      `\`createAuthenticator()\` with the cache on (default options), lastUsed off. Each round fires`,
      `${sf.requests} concurrent \`authenticate()\` calls of one key not yet cached (a different key each round,`,
      'after the change feed is listening), all of which must be admitted, and counts the lookups by',
      'id (`SELECT … WHERE id = $1`) that reach PostgreSQL through the pool: exactly 1 a round, or',
      'the section fails. The round time runs from firing the calls to the last one settled.',
      '',
      formatSingleFlightTable(sf),
    ].join('\n');
    const queries =
      sf.minQueries === sf.maxQueries ? `${sf.minQueries}` : `${sf.minQueries}–${sf.maxQueries}`;
    return {
      settings: `${formatInteger(stores.keys)} keys; 200 warm-up calls, then ${settings.seconds} s one at a time and ${settings.seconds} s ${stores.inFlight} in flight per store; single flight: ${sf.rounds} rounds of ${sf.requests} concurrent calls`,
      verdicts: [
        {
          figure: 'PostgreSQL: 100 concurrent misses of one id → store queries',
          floor: '1 per round',
          aim: '1 per round',
          measured: `${queries} per round (${sf.rounds} rounds)`,
          mark: sf.failures.length === 0 ? 'pass' : 'FAIL (see Failures)',
          pass: sf.failures.length === 0,
        },
      ],
      body,
      failures: sf.failures,
    };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
