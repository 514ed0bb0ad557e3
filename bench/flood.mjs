// Memory and amplification under a flood of bad keys: 1,000,000 random well-formed keys (right
// prefix, length and checksum; ids no store holds), and 1,000,000 keys with a bad checksum,
// each against one authenticator with the default options, in a fresh process of its own (so
// its RSS says what the flood made it hold, not what earlier benchmarks left).
//
//   node bench/flood.mjs                   both floods, prints a table; exits 1 when an
//                                          assertion below fails
//   import { section }                     what bench/run.mjs runs
//
// The authenticator keeps its defaults, the brute-force throttle (`failedAttempts`) included,
// and every request comes from a client address of its own. From one address the throttle
// would answer 429 after 100 failures and nothing past it would be measured; an attacker with
// many addresses is the one the caches must hold out against, and the throttle's own table of
// addresses is then under the flood too.
//
// Assertions (the run fails when one does not hold, whatever the machine):
// - every flood request is refused with 401 `invalid_api_key` (no 429, no 503, no admission);
// - bad checksums make no store lookup at all;
// - random well-formed keys make at most one lookup each, and the same keys sent again at once
//   make none (the negative cache answers);
// - the valid key, cached before the flood, is still admitted after it.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createAuthenticator, createKeyManager, keyChecksum, MemoryKeyStore } from '@orkesta/auth';
import {
  formatInteger,
  formatMegabytes,
  isMain,
  markdownTable,
  positiveNumber,
  runAlone,
  verdictRow,
} from './common.mjs';

/** The key format's base62 alphabet: digits, upper case, lower case. */
const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Characters of a key's id and secret, as the key format has them. */
const ID_LENGTH = 12;
const SECRET_LENGTH = 32;

/** RSS growth allowed under either flood, in bytes (32 MB). */
export const RSS_CEILING_BYTES = 32e6;

/** Requests in flight at once during a flood. */
const IN_FLIGHT = 64;
/** Keys of the random flood sent again right after it; fewer than the negative cache holds. */
const REPLAY = 5_000;
/** Flood-like requests before the baseline is taken, so JIT-compiled code is not growth. */
const WARM_UP = 2_000;
/** Requests with the valid key before the baseline is taken. */
const TRAFFIC = 200_000;
/**
 * The flood's process starts with its young generation at V8's default maximum (16 MB per
 * semi-space on 64-bit). V8 grows it as objects keep surviving scavenges
 * (Heap::CheckNewSpaceExpansionCriteria), so a process that has served for a while typically
 * has it at the maximum; a fresh one would count that growth (about 25 MB here, measured while
 * writing this benchmark), which has nothing to do with what the flood holds, as the flood's.
 */
const V8_FLAGS = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];

export const KINDS = {
  random: 'random well-formed keys (unknown ids)',
  'bad-checksum': 'keys with a bad checksum',
};

export function floodSettings(env = process.env) {
  return { tokens: positiveNumber(env, 'BENCH_FLOOD_TOKENS', 1_000_000, { integer: true }) };
}

/**
 * A MemoryKeyStore that counts lookups of ids other than the valid key's (which is looked up
 * again whenever its cache entry's TTL lapses, flood or not).
 */
class CountingStore extends MemoryKeyStore {
  validId = undefined;
  lookups = 0;
  async findById(id) {
    if (id !== this.validId) this.lookups++;
    return super.findById(id);
  }
}

/**
 * Random keys in the public format, from a pool of CSPRNG bytes refilled 64 KiB at a time:
 * `generateApiKey()` asks the CSPRNG twice per key, and would make the flood measure that.
 */
class RandomKeys {
  #pool = randomBytes(65_536);
  #at = 0;

  /** A well-formed key (right prefix, length and checksum) with a random id. */
  wellFormed() {
    const body = `ork_live_${this.#base62(ID_LENGTH)}_${this.#base62(SECRET_LENGTH)}`;
    return body + keyChecksum(body);
  }

  /** The same with its last checksum character changed: a bad checksum. */
  badChecksum() {
    const token = this.wellFormed();
    return token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
  }

  #base62(length) {
    let out = '';
    while (out.length < length) {
      if (this.#at === this.#pool.length) {
        this.#pool = randomBytes(65_536);
        this.#at = 0;
      }
      const byte = this.#pool[this.#at++];
      // 248 = 4 × 62: higher bytes are dropped so that every character is equally likely.
      if (byte < 248) out += BASE62_ALPHABET[byte % 62];
    }
    return out;
  }
}

/** The `n`th client address of a range: one per request, up to 16,777,216. */
function address(range, n) {
  return `${range}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The flood itself, in this process (the child). Returns the raw counts. */
export async function runFlood(kind, tokens) {
  if (typeof globalThis.gc !== 'function') throw new Error('run the flood with node --expose-gc');
  const keys = new RandomKeys();
  const next = kind === 'random' ? () => keys.wellFormed() : () => keys.badChecksum();
  const store = new CountingStore();
  const { key } = await createKeyManager({ store }).create({
    workspaceId: 'ws_bench',
    name: 'bench-flood',
    scope: 'read-only',
  });
  const auth = createAuthenticator({ store, requireHttps: false });
  store.validId = key.split('_')[2];
  const validRequest = { authorization: `Bearer ${key}`, secure: false, ip: '192.0.2.1' };
  if (!(await auth.authenticate(validRequest)).ok) throw new Error('the valid key was refused');

  // Answers to the flood's requests, and to the others (warm-up, replay): all must be 401s.
  const codes = {};
  const otherCodes = {};
  const send = async (token, ip, tally = codes) => {
    const result = await auth.authenticate({ authorization: `Bearer ${token}`, secure: false, ip });
    const code = result.ok ? 'admitted' : result.error.code;
    tally[code] = (tally[code] ?? 0) + 1;
  };
  // Ordinary traffic first, so that the young generation (at its full size, see V8_FLAGS) has
  // been used through and is in the baseline, as in a process that has been serving a while.
  let served = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (served++ < TRAFFIC) {
        if (!(await auth.authenticate(validRequest)).ok)
          throw new Error('the valid key was refused');
      }
    }),
  );
  for (let n = 0; n < WARM_UP; n++) await send(next(), address(11, n), otherCodes);
  const warmUpLookups = store.lookups;

  const heapBefore = settle();
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const recent = [];
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < tokens) {
        const n = sent++;
        const token = next();
        if (tokens - n <= REPLAY) recent.push(token);
        await send(token, address(10, n));
        if (n % 16_384 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  const floodLookups = store.lookups - warmUpLookups;

  // Sent again at once, from new addresses: the negative cache must answer every one.
  const beforeReplay = store.lookups;
  if (kind === 'random') {
    for (let n = 0; n < recent.length; n++) await send(recent[n], address(12, n), otherCodes);
  }
  const replayLookups = store.lookups - beforeReplay;
  const replayed = kind === 'random' ? recent.length : 0;

  const validAdmittedAfter = (await auth.authenticate(validRequest)).ok;
  const heapAfter = settle();
  const rssAfter = process.memoryUsage.rss();
  await auth.close();
  return {
    kind,
    tokens,
    seconds,
    requestsPerSecond: tokens / seconds,
    codes,
    otherCodes,
    floodLookups,
    warmUpLookups,
    replayed,
    replayLookups,
    validAdmittedAfter,
    rssPeakGrowth: rssPeak - rssBefore,
    rssGrowth: rssAfter - rssBefore,
    heapGrowth: heapAfter - heapBefore,
  };
}

/** Full collections until the heap stops shrinking; returns the live heap. */
function settle() {
  let used = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= used * 0.99) return now;
    used = now;
  }
  return used;
}

/** What a flood result breaks of the assertions above; empty when all hold. */
export function floodFailures(result) {
  const failures = [];
  const label = `flood of ${result.kind} keys`;
  for (const [what, codes] of [
    ['', result.codes],
    [' (warm-up and resent keys)', result.otherCodes],
  ]) {
    const refusals = Object.entries(codes).filter(([code]) => code !== 'invalid_api_key');
    if (refusals.length > 0) {
      const list = refusals.map(([code, n]) => `${formatInteger(n)}× ${code}`).join(', ');
      failures.push(`${label}: answers other than invalid_api_key${what}: ${list}`);
    }
  }
  if (result.kind === 'bad-checksum' && result.floodLookups + result.warmUpLookups !== 0) {
    failures.push(
      `${label}: ${formatInteger(result.floodLookups + result.warmUpLookups)} store lookups (must be none)`,
    );
  }
  if (result.kind === 'random' && result.floodLookups > result.tokens) {
    failures.push(
      `${label}: ${formatInteger(result.floodLookups)} store lookups for ${formatInteger(result.tokens)} keys (at most one each)`,
    );
  }
  if (result.replayLookups !== 0) {
    failures.push(
      `${label}: ${formatInteger(result.replayLookups)} lookups when ${formatInteger(result.replayed)} keys were sent again (the negative cache must answer)`,
    );
  }
  if (!result.validAdmittedAfter) failures.push(`${label}: the valid key was refused after it`);
  return failures;
}

/** Runs one flood in a fresh node process (V8_FLAGS) and returns its result. */
async function floodInChild(kind, settings) {
  const child = spawn(
    process.execPath,
    [...V8_FLAGS, fileURLToPath(import.meta.url), '--child', kind],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_FLOOD_TOKENS: String(settings.tokens) },
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    output += chunk;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`the ${kind} flood exited with code ${code}`);
  return JSON.parse(output);
}

const ABOUT = `One authenticator with the default options (caches of 10,000 keys and 10,000 unknown
ids, lastUsed on, the brute-force throttle on: 100 failures a minute per address, 100,000
addresses kept) over a \`MemoryKeyStore\` that counts lookups (of ids other than the valid key's,
which is looked up again whenever its cache entry expires), in a fresh process per flood
(\`node ${V8_FLAGS.join(' ')}\`: the young generation starts at V8's default maximum,
the size a process that has served for a while has grown it to, so that its growth is not
counted as the flood's). The valid key is looked up and cached, ${formatInteger(TRAFFIC)} requests with it and
${formatInteger(WARM_UP)} flood-like ones run, and the baseline is taken after full collections. Then the flood,
${IN_FLIGHT} requests in flight, every one from a client address of its own: from one address the throttle
would answer 429 after 100 failures and nothing past it would be measured; an attacker with many
addresses is the one the caches must hold out against, and the throttle's table of addresses is
flooded too. Random keys are well-formed (prefix, length, checksum) with random ids no store
holds; bad-checksum keys are random keys with their last character changed. Afterwards the last
${formatInteger(REPLAY)} random keys are sent again (the negative cache must answer them), and the valid key must
still be admitted.

RSS growth from the baseline: **after**, once the flood is over and the heap fully collected
(what the flood leaves the process holding: the figure the ceiling applies to), and **peak**,
the most RSS seen during the flood (it includes garbage that V8 had not yet collected). Live
heap: what full collections leave, against the baseline. MB = 10^6 bytes.`;

export const section = {
  id: 'flood',
  title: 'Memory and amplification: floods of bad keys',
  env: ['BENCH_FLOOD_TOKENS'],
  async run({ log }) {
    const settings = floodSettings();
    const results = [];
    for (const kind of Object.keys(KINDS)) {
      log(`flood: ${formatInteger(settings.tokens)} ${KINDS[kind]}…`);
      results.push(await floodInChild(kind, settings));
    }
    return floodReport(results, settings);
  },
};

/** The section's report from the results of both floods. */
export function floodReport(results, settings) {
  const table = markdownTable(
    [
      'flood',
      'keys sent',
      'keys/s',
      'store lookups',
      'lookups when resent',
      'answers',
      'RSS growth, after',
      'RSS growth, peak',
      'live heap growth',
    ],
    results.map((r) => [
      KINDS[r.kind],
      formatInteger(r.tokens),
      formatInteger(r.requestsPerSecond),
      formatInteger(r.floodLookups),
      r.replayed > 0 ? `${formatInteger(r.replayLookups)} of ${formatInteger(r.replayed)}` : '—',
      Object.entries(r.codes)
        .map(([code, n]) => `${formatInteger(n)}× ${code}`)
        .join(', '),
      formatMegabytes(r.rssGrowth),
      formatMegabytes(r.rssPeakGrowth),
      formatMegabytes(r.heapGrowth),
    ]),
    { rightAligned: [1, 2, 3, 4, 6, 7, 8] },
  );
  const failures = results.flatMap(floodFailures);
  return {
    settings: `${formatInteger(settings.tokens)} keys a flood, ${IN_FLIGHT} in flight, one client address a request; \`node ${V8_FLAGS.join(' ')}\``,
    verdicts: [
      ...results.map((r) =>
        verdictRow({
          figure: `RSS growth after a flood of ${formatInteger(r.tokens)} ${KINDS[r.kind]}`,
          value: r.rssGrowth,
          floor: RSS_CEILING_BYTES,
          format: formatMegabytes,
          lowerIsBetter: true,
        }),
      ),
      ...results.map((r) => ({
        figure: `Store lookups under the flood of ${KINDS[r.kind]}`,
        floor: r.kind === 'random' ? '≤ 1 per key, 0 resent' : '0',
        aim: r.kind === 'random' ? '≤ 1 per key, 0 resent' : '0',
        measured:
          r.kind === 'random'
            ? `${formatInteger(r.floodLookups)} for ${formatInteger(r.tokens)}, ${formatInteger(r.replayLookups)} resent`
            : formatInteger(r.floodLookups),
        mark: floodFailures(r).length === 0 ? 'pass' : 'FAIL (see Failures)',
        pass: floodFailures(r).length === 0,
      })),
    ],
    body: `${ABOUT}\n\n${table}`,
    failures,
  };
}

if (process.argv[2] === '--child') {
  const result = await runFlood(process.argv[3], floodSettings().tokens);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (isMain(import.meta.url)) {
  await runAlone(section);
}
