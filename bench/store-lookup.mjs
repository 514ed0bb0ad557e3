// Cold lookups: authenticate() with the cache off, so every request asks the store, over
// 10,000 keys, on PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test,
// a schema of its own, dropped afterwards), on SQLite (a temporary file) and, as the baseline
// of the same run, on MemoryKeyStore. Built packages: `tsc -b` first.
//
//   node bench/store-lookup.mjs           prints a markdown table
//   import { section }                    what bench/run.mjs runs
//   import { runStoreLookupBench }        returns the rows
//
// Latency: one request at a time, p50 and p99 of each authenticate() call. Throughput: 32 in
// flight, lookups per second. Keys are drawn at random from the 10,000, each a real key whose
// SHA-256 is checked, so a figure is a store round trip plus one hash.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator, generateApiKey, MemoryKeyStore } from '@orkesta/auth';
import { KeyHasher } from '@orkesta/auth/store';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { SqliteKeyStore } from '@orkesta/auth-store-sqlite';
import pg from 'pg';
import { formatInteger, isMain, markdownTable, positiveNumber, runAlone } from './common.mjs';

const KEYS = 10_000;
const IN_FLIGHT = 32;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function storeSettings(env = process.env) {
  return { seconds: positiveNumber(env, 'BENCH_STORE_SECONDS', 3) };
}

/** 10,000 records and their plaintext keys; hashing them once here keeps setup fast. */
function makeKeys() {
  const hasher = new KeyHasher();
  const createdAt = new Date();
  return Array.from({ length: KEYS }, (_, i) => {
    const { id, token, environment } = generateApiKey('live');
    return {
      token,
      record: {
        id,
        workspaceId: `ws_${i % 100}`,
        name: `bench-${i}`,
        scope: 'read-only',
        environment,
        hash: hasher.hash(token),
        createdAt,
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        rotatedFromId: null,
      },
    };
  });
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
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];

  let done = 0;
  const started = performance.now();
  end = started + settings.seconds * 1_000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        await once();
        done++;
      }
    }),
  );
  const perSecond = done / ((performance.now() - started) / 1_000);
  await auth.close();
  return {
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    sequential: latencies.length / settings.seconds,
    perSecond,
  };
}

export async function runStoreLookupBench({ log = () => {}, settings = storeSettings() } = {}) {
  log(`making ${formatInteger(KEYS)} keys…`);
  const keys = makeKeys();
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
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
  }
  const baseline = rows[0].perSecond;
  for (const row of rows) row.vsMemory = row.perSecond / baseline;
  return { rows, keys: KEYS, inFlight: IN_FLIGHT, settings };
}

export function formatStoreTable(result) {
  return markdownTable(
    [
      'store',
      'p50 ms (1 in flight)',
      'p99 ms (1 in flight)',
      'lookups/s (1 in flight)',
      `lookups/s (${result.inFlight} in flight)`,
      '× memory',
    ],
    result.rows.map((r) => [
      r.store,
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      formatInteger(r.sequential),
      formatInteger(r.perSecond),
      r.vsMemory.toFixed(3),
    ]),
    { rightAligned: [1, 2, 3, 4, 5] },
  );
}

export const section = {
  id: 'stores',
  title: 'Stores: cold lookups',
  env: ['BENCH_STORE_SECONDS', 'BENCH_POSTGRES_URL'],
  async run({ log }) {
    const settings = storeSettings();
    const stores = await runStoreLookupBench({ log, settings });
    const body = [
      `\`authenticate()\` with the cache off, so every call asks the store, over ${formatInteger(stores.keys)} keys`,
      'drawn at random; each figure is a store lookup plus the SHA-256 of the presented key.',
      `Latency: one call at a time for ${settings.seconds} s, p50 and p99 per call. Throughput: ${stores.inFlight} calls in flight`,
      `for ${settings.seconds} s. PostgreSQL is the server on this machine over loopback (a pool of 10, a schema of`,
      'its own); SQLite a WAL file in the temporary directory; MemoryKeyStore is the baseline of',
      'the same run. With the cache on (the default) a key costs one lookup per TTL, not per request.',
      '',
      formatStoreTable(stores),
    ].join('\n');
    return {
      settings: `${formatInteger(stores.keys)} keys; 200 warm-up calls, then ${settings.seconds} s one at a time and ${settings.seconds} s ${stores.inFlight} in flight per store`,
      verdicts: [],
      body,
      failures: [],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
