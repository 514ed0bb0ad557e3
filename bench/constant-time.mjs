// Timing of the paths a guess can take through @orkesta/auth (the BUILT package: `tsc -b` first).
//
//   node bench/constant-time.mjs          prints the cases and the comparisons as markdown tables
//   import { runConstantTimeBench }       returns them (bench/run.mjs does)
//
// The question: does the time an answer takes say anything about the secret? A wrong secret
// that differs from the real one in its first character and one that differs only in its last
// must take the same time, with the key cached and with the cache off; a valid key, a wrong
// secret and an unknown id may differ (and do, for reasons that reveal nothing secret: see
// bench/README.md). As a check that the method can see a difference when there is one, the
// same measurement is made of Buffer.equals, which stops at the first differing byte, on
// 4 KiB buffers, beside crypto.timingSafeEqual on the same buffers.
//
// Cases are measured interleaved: every round times one batch of every case, so that drift
// (other load, frequency, GC) falls on all of them alike. Cases that are compared for sameness
// run back to back, in an order that alternates from round to round, and are compared by their
// paired per-round differences: a burst of load from elsewhere then hits both sides of a pair.
// Each pair's differences are trimmed of their highest and lowest 10 % (load bursts), and the
// pair is said to differ when the trimmed mean difference is more than T_THRESHOLD standard
// errors from zero and more than MIN_DIFFERENCE of the time itself.

import { timingSafeEqual } from 'node:crypto';
import { createAuthenticator, createKeyManager, keyChecksum, MemoryKeyStore } from '@orkesta/auth';
import { formatInteger, isMain, positiveNumber, runAlone } from './common.mjs';

/** Two cases differ when |t| exceeds this and their means differ by more than MIN_DIFFERENCE. */
export const T_THRESHOLD = 5;
export const MIN_DIFFERENCE = 0.01;

export function timingSettings(env = process.env) {
  return {
    rounds: positiveNumber(env, 'BENCH_TIMING_ROUNDS', 150, { integer: true }),
    batch: positiveNumber(env, 'BENCH_TIMING_BATCH', 500, { integer: true }),
    warmupMs: positiveNumber(env, 'BENCH_MICRO_WARMUP', 500),
  };
}

/** `token` with its secret's character at `at` (0 to 31) changed, and a checksum that matches. */
function secretChangedAt(token, at) {
  const i = 22 + at;
  const body = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1, 54);
  return body + keyChecksum(body);
}

/** A well-formed key (right checksum) whose id no store holds. */
function unknownKey(token) {
  const body = `${token.slice(0, 9)}${'Z'.repeat(12)}${token.slice(21, 54)}`;
  return body + keyChecksum(body);
}

/** Two equal buffers of `size` bytes but for the byte at `at`. */
function differingAt(size, at) {
  const a = Buffer.alloc(size, 0x5a);
  const b = Buffer.from(a);
  b[at] ^= 0xff;
  return [a, b];
}

/**
 * The comparisons reported, each with what is expected and why. `same` pairs are the claim
 * (the secret does not move the time); `differ` pairs are known, harmless differences, or the
 * check that the method can see a difference at all.
 */
const COMPARISONS = [
  {
    a: 'wrong secret, 1st character differs; key cached',
    b: 'wrong secret, 32nd character differs; key cached',
    expected: 'same',
    why: 'the claim: how much of the secret is right does not change the time',
  },
  {
    a: 'wrong secret, 1st character differs; cache off',
    b: 'wrong secret, 32nd character differs; cache off',
    expected: 'same',
    why: 'the claim, with a store lookup and a SHA-256 on every call',
  },
  {
    a: 'timingSafeEqual, 32-byte digests differing at byte 0',
    b: 'timingSafeEqual, 32-byte digests differing at byte 31',
    expected: 'same',
    why: 'the comparison the pipeline makes, alone',
  },
  {
    a: 'timingSafeEqual, 4 KiB differing at byte 0',
    b: 'timingSafeEqual, 4 KiB differing at byte 4,095',
    expected: 'same',
    why: 'the same on buffers long enough for an early exit to show',
  },
  {
    a: 'Buffer.equals (stops early), 4 KiB differing at byte 0',
    b: 'Buffer.equals (stops early), 4 KiB differing at byte 4,095',
    expected: 'differ',
    why: 'the control: the method sees an early exit when there is one',
  },
  {
    a: 'valid key; key cached',
    b: 'wrong secret, 1st character differs; key cached',
    expected: 'differ',
    why: 'a cached valid key is matched against its remembered token without a SHA-256; the status code says as much',
  },
  {
    a: 'wrong secret, 1st character differs; key cached',
    b: 'unknown id; negative cache',
    expected: 'differ',
    why: 'an unknown id needs no hash: this tells whether an id exists, and ids are public',
  },
  {
    a: 'wrong secret, 1st character differs; cache off',
    b: 'unknown id; cache off',
    expected: 'differ',
    why: 'the same with a store lookup on every call',
  },
  {
    a: 'valid key; cache off',
    b: 'wrong secret, 1st character differs; cache off',
    expected: 'either',
    why: 'both hash and compare; they differ only in what follows (a principal or an error)',
  },
];

export async function runConstantTimeBench({ log = () => {}, settings = timingSettings() } = {}) {
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store });
  const { key } = await manager.create({
    workspaceId: 'ws_bench',
    name: 'bench-timing',
    scope: 'read-only',
  });
  // The throttle off: thousands of refusals from one address would otherwise be refused by it,
  // and measure that instead.
  const common = { store, requireHttps: false, lastUsed: false, failedAttempts: false };
  const cached = createAuthenticator(common);
  const uncached = createAuthenticator({ ...common, cache: false });
  const request = (token) => ({ authorization: `Bearer ${token}`, secure: false });
  const valid = request(key);
  const wrongFirst = request(secretChangedAt(key, 0));
  const wrongLast = request(secretChangedAt(key, 31));
  const unknown = request(unknownKey(key));
  const { batch } = settings;

  let mismatches = 0;
  const authenticating = (authenticator, req, expected) => async () => {
    for (let i = 0; i < batch; i++) {
      const result = await authenticator.authenticate(req);
      if ((result.ok ? 'ok' : result.error.code) !== expected) mismatches++;
    }
  };
  const comparing =
    (compare, [a, b]) =>
    () => {
      for (let i = 0; i < batch; i++) if (compare(a, b)) mismatches++;
    };
  const equals = (a, b) => a.equals(b);
  // `pairedWith`: runs right after that case, for a paired comparison.
  const cases = [
    { name: 'valid key; key cached', run: authenticating(cached, valid, 'ok') },
    {
      name: 'wrong secret, 1st character differs; key cached',
      run: authenticating(cached, wrongFirst, 'invalid_api_key'),
    },
    {
      name: 'wrong secret, 32nd character differs; key cached',
      pairedWith: 'wrong secret, 1st character differs; key cached',
      run: authenticating(cached, wrongLast, 'invalid_api_key'),
    },
    {
      name: 'unknown id; negative cache',
      run: authenticating(cached, unknown, 'invalid_api_key'),
    },
    { name: 'valid key; cache off', run: authenticating(uncached, valid, 'ok') },
    {
      name: 'wrong secret, 1st character differs; cache off',
      run: authenticating(uncached, wrongFirst, 'invalid_api_key'),
    },
    {
      name: 'wrong secret, 32nd character differs; cache off',
      pairedWith: 'wrong secret, 1st character differs; cache off',
      run: authenticating(uncached, wrongLast, 'invalid_api_key'),
    },
    { name: 'unknown id; cache off', run: authenticating(uncached, unknown, 'invalid_api_key') },
    {
      name: 'timingSafeEqual, 32-byte digests differing at byte 0',
      run: comparing(timingSafeEqual, differingAt(32, 0)),
    },
    {
      name: 'timingSafeEqual, 32-byte digests differing at byte 31',
      pairedWith: 'timingSafeEqual, 32-byte digests differing at byte 0',
      run: comparing(timingSafeEqual, differingAt(32, 31)),
    },
    {
      name: 'timingSafeEqual, 4 KiB differing at byte 0',
      run: comparing(timingSafeEqual, differingAt(4_096, 0)),
    },
    {
      name: 'timingSafeEqual, 4 KiB differing at byte 4,095',
      pairedWith: 'timingSafeEqual, 4 KiB differing at byte 0',
      run: comparing(timingSafeEqual, differingAt(4_096, 4_095)),
    },
    {
      name: 'Buffer.equals (stops early), 4 KiB differing at byte 0',
      run: comparing(equals, differingAt(4_096, 0)),
    },
    {
      name: 'Buffer.equals (stops early), 4 KiB differing at byte 4,095',
      pairedWith: 'Buffer.equals (stops early), 4 KiB differing at byte 0',
      run: comparing(equals, differingAt(4_096, 4_095)),
    },
  ];

  log(`warming up (${settings.warmupMs} ms per case)…`);
  for (const c of cases) {
    const until = performance.now() + settings.warmupMs;
    while (performance.now() < until) await c.run();
  }
  if (mismatches > 0) throw new Error(`${mismatches} calls did not answer as their case says`);

  // Groups run back to back; the groups rotate from round to round, and within a group the
  // order alternates.
  const groups = [];
  for (const c of cases) {
    const last = groups.at(-1);
    if (last !== undefined && c.pairedWith === last[0].name) last.push(c);
    else groups.push([c]);
  }
  log(
    `measuring ${cases.length} cases, interleaved: ${settings.rounds} rounds of ${batch} calls each…`,
  );
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let round = 0; round < settings.rounds; round++) {
    globalThis.gc?.();
    for (let k = 0; k < groups.length; k++) {
      const group = groups[(round + k) % groups.length];
      for (const c of round % 2 === 0 ? group : [...group].reverse()) {
        const started = process.hrtime.bigint();
        await c.run();
        samples.get(c.name).push(Number(process.hrtime.bigint() - started) / batch);
      }
    }
  }
  await cached.close();
  await uncached.close();
  if (mismatches > 0) throw new Error(`${mismatches} calls did not answer as their case says`);

  const rows = cases.map((c) => ({ name: c.name, ...summary(samples.get(c.name)) }));
  const comparisons = COMPARISONS.map((spec) => {
    const a = samples.get(spec.a);
    const b = samples.get(spec.b);
    const difference = summary(a.map((value, round) => value - b[round]));
    const relative = difference.mean / ((median(a) + median(b)) / 2);
    const t = difference.mean / difference.sem;
    const measured =
      Math.abs(t) > T_THRESHOLD && Math.abs(relative) > MIN_DIFFERENCE ? 'differ' : 'same';
    const asExpected = spec.expected === 'either' || spec.expected === measured;
    const ratio = median(a) / median(b);
    return { ...spec, deltaNs: difference.mean, relative, ratio, t, measured, asExpected };
  });
  const claims = comparisons.filter((c) => c.expected === 'same');
  const control = comparisons.find((c) => c.why.startsWith('the control'));
  return {
    rows,
    comparisons,
    settings,
    /** The secret does not move the time, and the method could have seen it if it did. */
    verdict: !control.asExpected
      ? { pass: false, mark: 'inconclusive (the control showed no difference)' }
      : claims.every((c) => c.asExpected)
        ? { pass: true, mark: 'pass (no measurable difference)' }
        : { pass: false, mark: 'FAIL (the secret moves the time)' },
    /** a / b of the two pipeline claims (key cached, cache off). */
    claimRatios: claims.slice(0, 2).map((c) => c.ratio),
  };
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1];
}

/** Mean, spread and standard error of `values`, trimmed of the highest and lowest 10 %. */
function summary(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const cut = Math.floor(sorted.length * 0.1);
  const kept = sorted.slice(cut, sorted.length - cut);
  const mean = kept.reduce((s, v) => s + v, 0) / kept.length;
  const variance = kept.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, kept.length - 1);
  return {
    mean,
    median: sorted[sorted.length >> 1],
    sd: Math.sqrt(variance),
    sem: Math.sqrt(variance / kept.length),
    samples: values.length,
  };
}

export function formatConstantTimeTable(result) {
  const lines = [
    '| case | mean ns/call (trimmed) | median ns/call | sd ns | samples |',
    '|---|--:|--:|--:|--:|',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.name} | ${formatInteger(r.mean)} | ${formatInteger(r.median)} | ${r.sd.toFixed(1)} | ${r.samples} |`,
    );
  }
  return lines.join('\n');
}

export function formatConstantTimeComparisons(result) {
  const lines = [
    '| a | b | a / b (medians) | a − b ns (paired, trimmed) | t | measured | expected | why |',
    '|---|---|--:|--:|--:|---|---|---|',
  ];
  for (const c of result.comparisons) {
    lines.push(
      `| ${c.a} | ${c.b} | ${c.ratio.toFixed(3)} | ${c.deltaNs.toFixed(1)} | ${c.t.toFixed(1)} | ` +
        `${c.measured} | ${c.expected}${c.asExpected ? '' : ' (**not as expected**)'} | ${c.why} |`,
    );
  }
  return lines.join('\n');
}

export const section = {
  id: 'timing',
  title: 'Constant time',
  env: ['BENCH_TIMING_ROUNDS', 'BENCH_TIMING_BATCH'],
  async run({ log }) {
    const settings = timingSettings();
    const timing = await runConstantTimeBench({ log, settings });
    const body = [
      'Does the time of an answer say anything about the secret? Every case runs once per round,',
      `${settings.rounds} rounds of ${formatInteger(settings.batch)} calls, interleaved (pairs compared for sameness back to back, their`,
      'order alternating); a figure is the mean time per call over the rounds, trimmed of the highest',
      'and lowest 10 %. Two cases are compared by their per-round differences (trimmed the same way):',
      `they "differ" when the mean difference is more than ${T_THRESHOLD} standard errors from zero and more than`,
      `${MIN_DIFFERENCE * 100} % of the time itself. The Buffer.equals rows are the control: a comparison that stops at the`,
      'first differing byte, which the method must see as a difference.',
      '',
      formatConstantTimeTable(timing),
      '',
      formatConstantTimeComparisons(timing),
    ].join('\n');
    const verdicts = [
      {
        figure:
          'Constant time: wrong secret at its 1st vs 32nd character, a / b (key cached; cache off)',
        floor: 'same',
        aim: 'same',
        measured: timing.claimRatios.map((value) => value.toFixed(3)).join('; '),
        mark: timing.verdict.mark,
        pass: timing.verdict.pass,
      },
    ];
    return {
      settings: `${settings.rounds} rounds × ${formatInteger(settings.batch)} calls per case, interleaved`,
      verdicts,
      body,
      failures: [],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
