// Rate limiters of @orkesta/auth and @orkesta/auth-redis (the BUILT packages: `tsc -b` first).
//
//   node bench/rate-limit.mjs             prints a markdown table
//   import { section }                    what bench/run.mjs runs
//   import { runRateLimitBench }          returns the rows
//
// In process: MemoryRateLimiter.take on one hot bucket and across 100,000 buckets, and
// authenticate() on a cached key with the rate step on and off, same run. Through Redis
// (BENCH_REDIS_URL, default redis://127.0.0.1:6379): RedisRateLimiter.take one at a time (a
// round trip each) and 64 in flight. Memory: RSS growth while 1,000,000 distinct buckets pass
// through a default MemoryRateLimiter (100,000 buckets at most).

import {
  createAuthenticator,
  createKeyManager,
  MemoryKeyStore,
  MemoryRateLimiter,
} from '@orkesta/auth';
import { rateLimitRule } from '@orkesta/auth/store';
import { RedisRateLimiter } from '@orkesta/auth-redis';
import { Redis } from 'ioredis';
import { Bench } from 'tinybench';
import { microSettings } from './authenticate.mjs';
import { formatInteger, isMain, markdownTable, runAlone } from './common.mjs';

const BATCH = 1_000;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function runRateLimitBench({ log = () => {}, settings = microSettings() } = {}) {
  const rule = rateLimitRule({ limit: 100_000, windowSeconds: 1 }, 'read-only', 'bench');
  const memory = new MemoryRateLimiter();
  const spread = new MemoryRateLimiter();
  const spreadKeys = Array.from({ length: 100_000 }, (_, i) => `key-${i}`);

  const store = new MemoryKeyStore();
  const { key } = await createKeyManager({ store }).create({
    workspaceId: 'ws_bench',
    name: 'bench-rate',
    scope: 'read-only',
  });
  const common = { store, requireHttps: false, lastUsed: false };
  const plain = createAuthenticator({ ...common, rateLimit: false });
  const limited = createAuthenticator({
    ...common,
    // The most a key may be allowed (100,000/s), with a burst no run exhausts: every call is
    // admitted, so the figure is the price of the rate step, not of refusals.
    rateLimit: {
      scopes: { 'read-only': { limit: 100_000, windowSeconds: 1, burst: 1_000_000_000 } },
    },
  });
  const request = { authorization: `Bearer ${key}`, secure: false, ip: '127.0.0.1' };
  for (const auth of [plain, limited]) {
    const result = await auth.authenticate(request);
    if (!result.ok) throw new Error(`a valid key was refused: ${result.error.code}`);
  }
  if ((await limited.authenticate(request)).headers?.RateLimit === undefined) {
    throw new Error('the rate step did not run');
  }

  let sink = 0;
  let i = 0;
  let now = Date.now();
  const cases = [
    {
      name: 'MemoryRateLimiter.take(): one bucket',
      fn: () => {
        for (let n = 0; n < BATCH; n++) {
          // The clock moves 0.01 ms a call: the bucket refills as fast as it drains.
          now += 0.01;
          if (memory.take('hot', rule, now).allowed) sink++;
        }
      },
    },
    {
      name: 'MemoryRateLimiter.take(): 100,000 buckets in turn',
      fn: () => {
        for (let n = 0; n < BATCH; n++) {
          if (spread.take(spreadKeys[i++ % spreadKeys.length], rule, now).allowed) sink++;
        }
      },
    },
    {
      name: 'authenticate(): cached key, rate step off',
      async: true,
      fn: async () => {
        for (let n = 0; n < BATCH; n++) {
          if (!(await plain.authenticate(request)).ok) throw new Error('refused');
          sink++;
        }
      },
    },
    {
      name: 'authenticate(): cached key, rate step on (memory)',
      async: true,
      fn: async () => {
        for (let n = 0; n < BATCH; n++) {
          if (!(await limited.authenticate(request)).ok) throw new Error('refused');
          sink++;
        }
      },
    },
  ];

  log('rate limiters in process…');
  const bench = new Bench({ time: settings.timeMs, warmupTime: settings.warmupMs, throws: true });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  const rows = cases.map((c) => {
    const latency = bench.getTask(c.name)?.result?.latency;
    if (latency === undefined) throw new Error(`${c.name}: no result`);
    const meanNs = (latency.mean * 1e6) / BATCH;
    return { name: c.name, opsPerSecond: 1e9 / meanNs, meanNs, rmePercent: latency.rme };
  });
  await plain.close();
  await limited.close();

  log('RedisRateLimiter…');
  rows.push(...(await redisRows(rule, settings)));

  log('memory: 1,000,000 distinct buckets…');
  const growth = rssGrowth(rule);
  if (sink === 0) throw new Error('nothing was computed');
  const byName = (name) => rows.find((r) => r.name === name);
  return {
    rows,
    growth,
    rateStepOverOff:
      byName('authenticate(): cached key, rate step on (memory)').opsPerSecond /
      byName('authenticate(): cached key, rate step off').opsPerSecond,
  };
}

async function redisRows(rule, settings) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    await new Promise((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
  } catch (error) {
    redis.disconnect();
    return [
      { name: `RedisRateLimiter: not measured (${error.message})`, opsPerSecond: Number.NaN },
    ];
  }
  let fellBack = 0;
  const limiter = new RedisRateLimiter({
    redis,
    prefix: `orkesta-bench:${process.pid}:`,
    timeoutMs: 1_000,
    onFallback: () => fellBack++,
  });
  const measure = async (name, inFlight) => {
    const until = performance.now() + settings.warmupMs;
    while (performance.now() < until) await limiter.take('warm', rule, Date.now());
    let done = 0;
    const start = performance.now();
    const end = start + settings.timeMs;
    let n = 0;
    const worker = async () => {
      while (performance.now() < end) {
        await limiter.take(`k${n++ % 1_000}`, rule, Date.now());
        done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - start) / 1e3;
    return {
      name,
      opsPerSecond: done / seconds,
      meanNs: (seconds * 1e9) / done,
      rmePercent: Number.NaN,
    };
  };
  const rows = [
    await measure('RedisRateLimiter.take(): one at a time (a round trip each)', 1),
    await measure('RedisRateLimiter.take(): 64 in flight', 64),
  ];
  redis.disconnect();
  if (fellBack > 0) throw new Error(`${fellBack} takes fell back to memory: Redis figures void`);
  return rows;
}

function rssGrowth(rule) {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const limiter = new MemoryRateLimiter();
  const now = Date.now();
  for (let n = 0; n < 1_000_000; n++) limiter.take(`flood-${n}`, rule, now);
  globalThis.gc?.();
  const after = process.memoryUsage();
  return {
    buckets: limiter.size,
    rssGrowthMiB: (after.rss - before.rss) / 2 ** 20,
    // Live heap after a full collection (with --expose-gc): what the limiter really holds.
    heapGrowthMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
    collected: typeof globalThis.gc === 'function',
  };
}

export function formatRateLimitTable(result) {
  return markdownTable(
    ['case', 'ops/s', 'mean ns/op', '± rme'],
    result.rows.map((r) => [
      r.name,
      formatInteger(r.opsPerSecond),
      formatInteger(r.meanNs),
      Number.isFinite(r.rmePercent) ? `${r.rmePercent.toFixed(1)} %` : '—',
    ]),
    { rightAligned: [1, 2, 3] },
  );
}

export const section = {
  id: 'rate',
  title: 'Rate limiting',
  env: ['BENCH_MICRO_TIME', 'BENCH_MICRO_WARMUP', 'BENCH_REDIS_URL'],
  async run({ log }) {
    const rate = await runRateLimitBench({ log, settings: microSettings() });
    const { growth } = rate;
    const body = [
      'In process, as above (a batch of 1,000 calls per sample). The rate step runs GCRA on the',
      "key's bucket and formats the `RateLimit` fields for the response. Redis: the same script",
      'every instance runs, over loopback, one request in flight (each waits a round trip) and 64.',
      '',
      formatRateLimitTable(rate),
      '',
      `- rate step on / off, \`authenticate()\` on a cached key: ${rate.rateStepOverOff.toFixed(3)}`,
      `- 1,000,000 distinct keys through one default \`MemoryRateLimiter\`: ${formatInteger(growth.buckets)} buckets kept, ` +
        `live heap ${growth.collected ? `+${growth.heapGrowthMiB.toFixed(1)} MiB after a full collection` : 'not measured (run with --expose-gc)'}, ` +
        `RSS +${growth.rssGrowthMiB.toFixed(1)} MiB (RSS keeps what the process once used)`,
    ].join('\n');
    return { settings: 'as core', verdicts: [], body, failures: [] };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
