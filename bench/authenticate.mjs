// Core microbenchmarks of @orkesta/auth (the BUILT package: run `tsc -b` first).
//
//   node bench/authenticate.mjs            prints a markdown table
//   import { runAuthenticateBench }        returns the rows (bench/run.mjs does)
//
// Everything runs on the main thread, one call after another. Each tinybench sample is a batch
// of BATCH calls, so the timer's own cost (tens of ns) and its resolution do not swamp
// operations that take about a microsecond; per-call figures are the batch figures / BATCH.

import { hash } from 'node:crypto';
import {
  createAuthenticator,
  createKeyManager,
  extractBearerToken,
  keyChecksum,
  MemoryKeyStore,
  parseApiKey,
} from '@orkesta/auth';
import { Bench } from 'tinybench';
import {
  formatInteger,
  isMain,
  perCall,
  pinningPlan,
  pinThisProcess,
  positiveNumber,
  verdict,
} from './common.mjs';

/** Verifications per second of `authenticate()` on a cached valid key (lastUsed off). */
export const AUTHENTICATE_FLOOR = 500_000;
export const AUTHENTICATE_AIM = 1_000_000;

/** Calls per tinybench sample. */
export const BATCH = 1_000;

export const HEADLINE = 'authenticate(): cached valid key, lastUsed off';

/** Settings from the environment, with the defaults `pnpm bench` uses. */
export function microSettings(env = process.env) {
  return {
    timeMs: positiveNumber(env, 'BENCH_MICRO_TIME', 1_500),
    warmupMs: positiveNumber(env, 'BENCH_MICRO_WARMUP', 500),
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

function request(token) {
  return {
    authorization: `Bearer ${token}`,
    secure: false,
    ip: '127.0.0.1',
    path: '/v1/accounts',
  };
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
  // The refusals on an authenticator of their own with the brute-force throttle off: after 100
  // failures from one address the throttle would answer for the pipeline (429 before any
  // lookup), and its failures would make the valid-key cases pay for the throttle check too.
  const refusing = createAuthenticator({
    store,
    requireHttps: false,
    lastUsed: false,
    failedAttempts: false,
  });

  const valid = request(key);
  const unknown = request(unknownKey());
  const badChecksum = request(badChecksumKey(key));
  const header = valid.authorization;

  // Each case must do what its name says, or its figure means nothing.
  await expectOk(lean, valid);
  await expectOk(withLastUsed, valid);
  await expectRejected(refusing, unknown, 'invalid_api_key');
  await expectRejected(refusing, badChecksum, 'invalid_api_key');
  if (extractBearerToken(header) !== key)
    throw new Error('extractBearerToken did not return the key');
  if (parseApiKey(key)?.id !== issued.record.id)
    throw new Error('parseApiKey did not parse the key');
  if (parseApiKey(badChecksum.authorization.slice(7)) !== undefined) {
    throw new Error('parseApiKey accepted a bad checksum');
  }

  let sink = 0;
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
      name: 'authenticate(): negative-cache hit (unknown id)',
      kind: 'async',
      fn: async () => {
        for (let i = 0; i < BATCH; i++) sink += refused(await refusing.authenticate(unknown));
      },
    },
    {
      name: 'authenticate(): bad checksum',
      kind: 'async',
      fn: async () => {
        for (let i = 0; i < BATCH; i++) sink += refused(await refusing.authenticate(badChecksum));
      },
    },
    {
      name: 'extractBearerToken() alone',
      kind: 'sync',
      fn: () => {
        for (let i = 0; i < BATCH; i++) sink += extractBearerToken(header).length;
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
  for (const c of cases) {
    const until = performance.now() + settings.warmupMs;
    while (performance.now() < until) await c.fn();
  }

  // Store lookups made while each case is measured: the cached cases should make none, except
  // when a cache entry's TTL (30 s valid, 5 s unknown) lapses during the case.
  const lookups = new Map();
  const bench = new Bench({
    time: settings.timeMs,
    iterations: 32,
    warmupTime: Math.min(250, settings.warmupMs),
    warmupIterations: 8,
    throws: true,
  });
  for (const c of cases) {
    let before = 0;
    bench.add(c.name, c.fn, {
      beforeAll(mode) {
        before = store.lookups;
        if (mode === 'run') lookups.set(c.name, 0);
      },
      afterAll(mode) {
        if (mode === 'run') lookups.set(c.name, store.lookups - before);
      },
    });
  }
  log(`measuring ${cases.length} cases (${settings.timeMs} ms each, ${BATCH} calls per sample)…`);
  await bench.run();

  await lean.close();
  await withLastUsed.close();
  await refusing.close();
  if (sink === 0) throw new Error('nothing was computed');

  const rows = cases.map((c) => ({
    name: c.name,
    ...perCall(bench, c.name, BATCH),
    storeLookups: lookups.get(c.name) ?? Number.NaN,
  }));
  const headline = rows.find((r) => r.name === HEADLINE);
  for (const row of rows) row.vsHeadline = row.meanNs / headline.meanNs;
  return {
    rows,
    headline,
    storeLookups: rows.reduce((n, r) => n + r.storeLookups, 0),
    settings: { ...settings, batch: BATCH },
    verdict: verdict(headline.opsPerSecond, AUTHENTICATE_FLOOR, AUTHENTICATE_AIM),
  };
}

/** 1 for the refusal the refusal cases measure; anything else voids the figure. */
function refused(result) {
  if (result.ok || result.error.code !== 'invalid_api_key') {
    throw new Error(`expected invalid_api_key, got ${result.ok ? 'ok' : result.error.code}`);
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
  const lines = [
    '| case | ops/s | mean ns/op | p99 ns/op (of batches) | × headline time | ± rme | samples | store lookups |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${formatInteger(r.opsPerSecond)} | ${formatInteger(r.meanNs)} | ` +
        `${formatInteger(r.p99Ns)} | ${r.vsHeadline.toFixed(2)} | ${r.rmePercent.toFixed(1)} % | ` +
        `${r.samples} | ${r.storeLookups} |`,
    );
  }
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const pinning = pinningPlan();
  if (pinning.enabled) pinThisProcess(pinning.clientCpu);
  const result = await runAuthenticateBench({ log: (line) => console.error(line) });
  console.log(formatMicroTable(result.rows));
  console.log();
  console.log(
    `headline: ${formatInteger(result.headline.opsPerSecond)} verifications/s ` +
      `(floor ${formatInteger(AUTHENTICATE_FLOOR)}, aim ${formatInteger(AUTHENTICATE_AIM)}): ` +
      `${result.verdict.mark}; store lookups while measuring: ${result.storeLookups}`,
  );
}
