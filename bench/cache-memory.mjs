// Memory of the key cache: bytes per cached key, with 10,000 and with 100,000 keys cached (live
// heap and ArrayBuffers after full collections), each in a fresh process of its own, so that
// its figures say what the cache holds, not what earlier benchmarks left. Built packages:
// `tsc -b` first.
//
//   node bench/cache-memory.mjs            every size, prints a table; exits 1 when an
//                                          assertion below fails
//   import { section }                     what bench/run.mjs runs
//
// One authenticator with the default options but `cache.max`, raised so that every key fits
// (the default keeps 10,000), over a MemoryKeyStore filled before the baseline. Then every key
// is authenticated once (a lookup each), and once more (which must make no lookup: they are all
// cached), and the heap is read again after full collections.
//
// Assertions (the run fails when one does not hold, whatever the machine):
// - every key is admitted, in both passes;
// - the first pass looks each key up once, the second makes no lookup at all;
// - the flush of the last-used recorder carries one use per key.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createAuthenticator, MemoryKeyStore } from '@orkesta/auth';
import {
  formatInteger,
  formatMegabytes,
  isMain,
  markdownTable,
  runAlone,
  verdictRow,
} from './common.mjs';
import { benchRecords } from './server-common.mjs';

/**
 * The same flags as the floods (see flood.mjs): the young generation starts at V8's default
 * maximum, so that its growth in a fresh process is not counted as the cache's in RSS.
 */
const V8_FLAGS = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
/** Keys outside the measured set, authenticated before the baseline to warm the code. */
const WARM_KEYS = 1_000;
/** Requests with those keys before the baseline, so that the young generation is used through. */
const TRAFFIC = 200_000;
/**
 * Requests with those keys through an authenticator without a cache before the baseline, so that
 * the lookup path (store, SHA-256, decoding) is compiled before it is measured, not during.
 */
const COLD_TRAFFIC = 20_000;

/** Settings from the environment: the numbers of keys cached, each measured in its own process. */
export function cacheMemorySettings(env = process.env) {
  const raw = env.BENCH_MEMORY_KEYS;
  if (raw === undefined || raw === '') return { sizes: [10_000, 100_000] };
  const sizes = raw.split(',').map((part) => Number(part.trim()));
  if (sizes.length === 0 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new Error(`BENCH_MEMORY_KEYS must be positive integers, comma-separated, got "${raw}"`);
  }
  return { sizes };
}

/**
 * A MemoryKeyStore that counts lookups, and last-used writes without making them: written, they
 * would replace every record and add a Date to it, and the store's growth would be counted as
 * the cache's.
 */
class MeasuringStore extends MemoryKeyStore {
  lookups = 0;
  usesRecorded = 0;
  async findById(id) {
    this.lookups++;
    return super.findById(id);
  }
  async recordLastUsed(batch) {
    this.usesRecorded += batch.size;
  }
}

/**
 * Full collections until the heap stops shrinking; returns the live heap, ArrayBuffers and RSS.
 * It first lets the current job end (setImmediate): objects its microtasks still reach would
 * survive the collections, and readings taken that way varied by up to 1 MB between runs.
 */
async function settle() {
  await new Promise((resolve) => setImmediate(resolve));
  let used = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= used * 0.99) break;
    used = now;
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, arrayBuffers, rss: process.memoryUsage.rss() };
}

/** Growth from `before` to `after`. */
function growth(before, after) {
  return {
    heap: after.heap - before.heap,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    rss: after.rss - before.rss,
  };
}

/** The measurement itself, in this process (the child), for `keys` cached keys. */
export async function measureCache(keys) {
  if (typeof globalThis.gc !== 'function') throw new Error('run the child with node --expose-gc');
  const all = benchRecords(keys + WARM_KEYS);
  const warm = all.slice(0, WARM_KEYS).map((k) => k.token);
  const measured = all.slice(WARM_KEYS).map((k) => k.token);
  const store = new MeasuringStore();
  for (const { record } of all) await store.insert(record);
  all.length = 0;
  const auth = createAuthenticator({
    store,
    requireHttps: false,
    cache: { max: keys + WARM_KEYS },
  });
  // A fresh header string per request, as a server gets one: anything the cache kept of it
  // would be counted.
  const admit = async (token, by = auth) => {
    const result = await by.authenticate({
      authorization: `Bearer ${token}`,
      secure: false,
      ip: '192.0.2.1',
    });
    if (!result.ok) throw new Error(`a valid key was refused: ${result.error.code}`);
  };

  // The code warmed, the young generation used through, the recorder's pending uses written.
  const uncached = createAuthenticator({ store, requireHttps: false, cache: false });
  for (let n = 0; n < COLD_TRAFFIC; n++) await admit(warm[n % WARM_KEYS], uncached);
  await uncached.close();
  for (let n = 0; n < TRAFFIC; n++) await admit(warm[n % WARM_KEYS]);
  await auth.flushLastUsed();
  const before = await settle();

  const lookupsBefore = store.lookups;
  const usesBefore = store.usesRecorded;
  for (const token of measured) await admit(token);
  const firstPassLookups = store.lookups - lookupsBefore;
  for (const token of measured) await admit(token);
  const secondPassLookups = store.lookups - lookupsBefore - firstPassLookups;
  const pending = await settle();
  await auth.flushLastUsed();
  const usesFlushed = store.usesRecorded - usesBefore;
  const after = await settle();

  await auth.close();
  return {
    keys,
    firstPassLookups,
    secondPassLookups,
    usesFlushed,
    // With the recorder's pending uses written (the cache's own), and before (both).
    flushed: growth(before, after),
    pending: growth(before, pending),
  };
}

/** What a result breaks of the assertions above; empty when all hold. */
export function cacheMemoryFailures(result) {
  const failures = [];
  const label = `${formatInteger(result.keys)} cached keys`;
  if (result.firstPassLookups !== result.keys) {
    failures.push(
      `${label}: the first pass made ${formatInteger(result.firstPassLookups)} store lookups (one per key: ${formatInteger(result.keys)})`,
    );
  }
  if (result.secondPassLookups !== 0) {
    failures.push(
      `${label}: the second pass made ${formatInteger(result.secondPassLookups)} store lookups (must be none: not every key was cached)`,
    );
  }
  if (result.usesFlushed !== result.keys) {
    failures.push(
      `${label}: the last-used flush carried ${formatInteger(result.usesFlushed)} uses (one per key: ${formatInteger(result.keys)})`,
    );
  }
  return failures;
}

/** Bytes the cache holds per key: live heap and ArrayBuffers. */
export function bytesPerKey(g, keys) {
  return (g.heap + g.arrayBuffers) / keys;
}

/** Runs one size in a fresh node process (V8_FLAGS) and returns its result. */
async function measureInChild(keys) {
  const child = spawn(
    process.execPath,
    [...V8_FLAGS, fileURLToPath(import.meta.url), '--child', String(keys)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    output += chunk;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`the measure of ${keys} cached keys exited with code ${code}`);
  return JSON.parse(output);
}

const ABOUT = `One authenticator with the default options but \`cache.max\`, raised to the number of keys
measured plus ${formatInteger(WARM_KEYS)} (by default the cache keeps 10,000 keys), over a \`MemoryKeyStore\` holding every key
before the baseline, in a fresh process per size (\`node ${V8_FLAGS.join(' ')}\`,
as the floods: the young generation's growth is not counted). ${formatInteger(WARM_KEYS)} keys outside the measured set
serve ${formatInteger(COLD_TRAFFIC)} requests through an authenticator without a cache (the lookup path compiled) and
${formatInteger(TRAFFIC)} through the measured one (the young generation used through), the last-used recorder is
flushed, and the baseline is taken after full collections. Then every measured key
is authenticated once (a store lookup and a SHA-256 each: its entry is made and remembers the
token), and once more, which must make no store lookup: every key is cached. Each request has
a header string of its own, as a server's would, so that anything the cache kept of it is
counted.

Last-used times stay on (the default): until its next write the recorder holds a pending use
per key, which is not the cache's. The figures are taken after \`flushLastUsed()\`; the store
counts the writes and drops them (written, they would replace every record and be counted as
the cache's growth). **with uses pending** is the same reading before the flush.

Bytes per cached key: growth of the live heap **and** of ArrayBuffers (\`process.memoryUsage()\`,
after full collections), over the number of keys: an entry's remembered token and hash digest
are Buffers, whose bytes live outside the V8 heap in Node's shared 8 KiB pool slabs. Each
reading lets the current job end first, then collects until the heap stops shrinking. RSS
growth: after the last collection, against the baseline; it moves by several MB from run to run
(V8 keeps and returns pages as it sees fit), where bytes per cached key moved by about 3 % at
10,000 keys and less at 100,000. MB = 10^6 bytes.`;

export const section = {
  id: 'memory',
  title: 'Memory: bytes per cached key',
  env: ['BENCH_MEMORY_KEYS'],
  async run({ log }) {
    const settings = cacheMemorySettings();
    const results = [];
    for (const keys of settings.sizes) {
      log(`memory: ${formatInteger(keys)} cached keys…`);
      results.push(await measureInChild(keys));
    }
    return cacheMemoryReport(results, settings);
  },
};

/** The section's report from the results of every size. */
export function cacheMemoryReport(results, settings) {
  const bytes = (value) => `${formatInteger(value)} B`;
  const table = markdownTable(
    [
      'cached keys',
      'live heap growth',
      'ArrayBuffer growth',
      'bytes per cached key',
      'with uses pending',
      'RSS growth',
    ],
    results.map((r) => [
      formatInteger(r.keys),
      formatMegabytes(r.flushed.heap),
      formatMegabytes(r.flushed.arrayBuffers),
      bytes(bytesPerKey(r.flushed, r.keys)),
      bytes(bytesPerKey(r.pending, r.keys)),
      formatMegabytes(r.flushed.rss),
    ]),
    { rightAligned: [0, 1, 2, 3, 4, 5] },
  );
  return {
    settings: `${settings.sizes.map(formatInteger).join(' and ')} keys cached, each in a process of its own; \`node ${V8_FLAGS.join(' ')}\``,
    verdicts: results.map((r) =>
      verdictRow({
        figure: `Bytes per cached key (${formatInteger(r.keys)} cached)`,
        value: bytesPerKey(r.flushed, r.keys),
        format: bytes,
      }),
    ),
    body: `${ABOUT}\n\n${table}`,
    failures: results.flatMap(cacheMemoryFailures),
  };
}

if (process.argv[2] === '--child') {
  const result = await measureCache(Number(process.argv[3]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (isMain(import.meta.url)) {
  await runAlone(section);
}
