// HTTP benchmark over loopback: the same tiny Express 5 app bare, behind a no-op middleware,
// behind orkestaAuth() + requireScope('read-only'), and the same with rate limiting on (in
// memory, and through Redis), each in its own child process (bench/express-server.mjs), loaded
// by autocannon from this process.
//
//   node bench/express-http.mjs            prints the tables; exits 1 when a request failed
//   import { runExpressHttpBench }         returns the figures (bench/run.mjs does)
//
// Every request of every mode carries the same `Authorization: Bearer <key>` header (a valid,
// cached key of every auth server), so all modes receive byte-identical requests.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '@orkesta/auth';
import autocannon from 'autocannon';
import {
  formatInteger,
  isMain,
  median,
  pinningPlan,
  pinThisProcess,
  positiveNumber,
  sum,
  verdict,
} from './common.mjs';

export const RATIO_FLOOR = 0.9;
export const RATIO_AIM = 0.95;

const MODES = ['bare', 'noop', 'auth', 'rate', 'rate-redis'];
/** Modes whose server authenticates, and must refuse a request without a valid key. */
const AUTH_MODES = new Set(['auth', 'rate', 'rate-redis']);
/** Modes whose server rate-limits, and must send the RateLimit fields. */
const RATE_MODES = new Set(['rate', 'rate-redis']);
const SERVER = fileURLToPath(new URL('./express-server.mjs', import.meta.url));
const PATH = '/v1/accounts';

/** Settings from the environment, with the defaults `pnpm bench` uses. */
export function httpSettings(env = process.env) {
  return {
    rounds: positiveNumber(env, 'BENCH_ROUNDS', 9, { integer: true }),
    durationSeconds: positiveNumber(env, 'BENCH_DURATION', 4, { integer: true }),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP', 2, { integer: true }),
    connections: positiveNumber(env, 'BENCH_CONNECTIONS', 10, { integer: true }),
    pinning: pinningPlan(env),
  };
}

/**
 * Starts one server per mode, checks each answers as it should, warms each up, then measures
 * `rounds` rounds; every round measures every mode once, in a rotating order so that no mode
 * always runs first or last. Returns per-round figures, medians and ratios. `failures` lists
 * every request that did not get a 200 (and every failed check); it must be empty.
 */
export async function runExpressHttpBench({ log = () => {}, settings = httpSettings() } = {}) {
  const servers = new Map();
  const { pinning } = settings;
  if (pinning.enabled) pinThisProcess(pinning.clientCpu);
  try {
    const key = generateApiKey('test').token;
    for (const mode of MODES) servers.set(mode, await startServer(mode, pinning, key));
    const headers = { authorization: `Bearer ${key}` };
    const failures = [];

    for (const mode of MODES) {
      for (const problem of await checkServer(mode, servers.get(mode).url, headers)) {
        failures.push(`${mode}: ${problem}`);
      }
    }
    if (failures.length > 0) return result(settings, [], failures);

    for (const mode of MODES) {
      log(`warming up ${mode} (${settings.warmupSeconds} s)…`);
      const warm = await load(servers.get(mode).url, headers, settings, settings.warmupSeconds);
      failures.push(...requestFailures(warm, `${mode} warm-up`));
    }

    const rounds = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const shift = (round - 1) % MODES.length;
      const order = [...MODES.slice(shift), ...MODES.slice(0, shift)];
      for (const mode of order) {
        const server = servers.get(mode);
        const cpuBefore = await server.cpu();
        const clientBefore = process.cpuUsage();
        const measured = await load(server.url, headers, settings, settings.durationSeconds);
        const client = process.cpuUsage(clientBefore);
        const cpuAfter = await server.cpu();
        failures.push(...requestFailures(measured, `${mode} round ${round}`));
        const cpuMicros = cpuAfter.user - cpuBefore.user + (cpuAfter.system - cpuBefore.system);
        const completed = measured.requests.total;
        const row = {
          round,
          mode,
          requestsPerSecond: measured['2xx'] / measured.duration,
          completed,
          non2xx: measured.non2xx,
          errors: measured.errors,
          timeouts: measured.timeouts,
          latencyP50Ms: measured.latency.p50,
          latencyP99Ms: measured.latency.p99,
          serverCpuMicrosPerRequest: completed > 0 ? cpuMicros / completed : Number.NaN,
          serverCpuShare: cpuMicros / 1e6 / measured.duration,
          clientCpuShare: (client.user + client.system) / 1e6 / measured.duration,
        };
        rounds.push(row);
        log(
          `round ${round} ${mode.padEnd(10)} ${Math.round(row.requestsPerSecond)} req/s, ` +
            `server ${row.serverCpuMicrosPerRequest.toFixed(1)} µs CPU/req ` +
            `(${Math.round(row.serverCpuShare * 100)} % of a core; autocannon ` +
            `${Math.round(row.clientCpuShare * 100)} %), non-2xx ${row.non2xx}`,
        );
      }
    }
    return result(settings, rounds, failures);
  } finally {
    for (const server of servers.values()) server.stop();
  }
}

function result(settings, rounds, failures) {
  const medians = {};
  for (const mode of MODES) {
    const mine = rounds.filter((r) => r.mode === mode);
    medians[mode] = {
      requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
      serverCpuMicrosPerRequest: median(mine.map((r) => r.serverCpuMicrosPerRequest)),
      serverCpuShare: median(mine.map((r) => r.serverCpuShare)),
      clientCpuShare: median(mine.map((r) => r.clientCpuShare)),
      latencyP99Ms: median(mine.map((r) => r.latencyP99Ms)),
      non2xx: sum(mine.map((r) => r.non2xx)),
      completed: sum(mine.map((r) => r.completed)),
    };
  }
  const rps = (mode) => medians[mode].requestsPerSecond;
  const cpu = (mode) => medians[mode].serverCpuMicrosPerRequest;
  const ratios = {
    authOverBare: rps('auth') / rps('bare'),
    noopOverBare: rps('noop') / rps('bare'),
    authOverNoop: rps('auth') / rps('noop'),
    rateOverAuth: rps('rate') / rps('auth'),
    redisRateOverAuth: rps('rate-redis') / rps('auth'),
    // Requests per CPU-second, auth over bare: what the throughput ratio would be on a server
    // that is purely CPU-bound. Less sensitive to other load on the machine than req/s.
    cpuAuthOverBare: cpu('bare') / cpu('auth'),
  };
  return {
    settings,
    modes: MODES,
    rounds,
    medians,
    ratios,
    authCostMicros: cpu('auth') - cpu('bare'),
    authCostOverNoopMicros: cpu('auth') - cpu('noop'),
    rateCostMicros: cpu('rate') - cpu('auth'),
    redisRateCostMicros: cpu('rate-redis') - cpu('auth'),
    failures,
    ok: failures.length === 0 && rounds.length > 0,
    verdict: verdict(ratios.authOverBare, RATIO_FLOOR, RATIO_AIM),
  };
}

async function startServer(mode, pinning, key) {
  const node = [process.execPath, SERVER, mode];
  const [command, ...args] = pinning.enabled
    ? ['taskset', '-c', String(pinning.serverCpu), ...node]
    : node;
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_API_KEY: key },
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the ${mode} server exited early (code ${code}, signal ${signal})`);
  });
  exited.catch(() => {});
  const lines = createInterface({ input: child.stdout });
  const firstLine = once(lines, 'line').then(([line]) => JSON.parse(line));
  const ready = once(child, 'message').then(([message]) => message);
  const [announced, message] = await Promise.race([Promise.all([firstLine, ready]), exited]);
  if (announced.port !== message.port || message.type !== 'ready') {
    throw new Error(`the ${mode} server announced itself inconsistently`);
  }
  let nextId = 0;
  const cpu = async () => {
    const id = ++nextId;
    const answer = new Promise((resolve) => {
      const onMessage = (m) => {
        if (m?.type === 'cpu' && m.id === id) {
          child.off('message', onMessage);
          resolve(m.cpu);
        }
      };
      child.on('message', onMessage);
    });
    child.send({ type: 'cpu', id });
    return Promise.race([answer, exited]);
  };
  return {
    mode,
    url: `http://127.0.0.1:${announced.port}${PATH}`,
    key: message.key,
    cpu,
    stop: () => {
      lines.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** One request with the key (must be 200 and the JSON list); for auth, also the refusals. */
async function checkServer(mode, url, headers) {
  const problems = [];
  const good = await fetch(url, { headers });
  const body = await good.text();
  if (good.status !== 200) problems.push(`a request with the key got ${good.status}: ${body}`);
  else if (JSON.parse(body).data?.length !== 2)
    problems.push('the 200 body is not the account list');
  if (
    RATE_MODES.has(mode) &&
    !/^"read-only";r=\d+;t=\d+$/.test(good.headers.get('ratelimit') ?? '')
  ) {
    problems.push(
      `an admitted request carried no RateLimit field: ${good.headers.get('ratelimit')}`,
    );
  }
  if (AUTH_MODES.has(mode)) {
    // Prove the middleware is really in the way: no key and a wrong key must be refused.
    const none = await fetch(url);
    const noneBody = await none.json().catch(() => ({}));
    if (none.status !== 401 || noneBody.code !== 'missing_api_key') {
      problems.push(`a request without a key got ${none.status} ${noneBody.code}`);
    }
    const wrong =
      headers.authorization.slice(0, -1) + (headers.authorization.endsWith('0') ? '1' : '0');
    const bad = await fetch(url, { headers: { authorization: wrong } });
    const badBody = await bad.json().catch(() => ({}));
    if (bad.status !== 401 || badBody.code !== 'invalid_api_key') {
      problems.push(`a request with a wrong key got ${bad.status} ${badBody.code}`);
    }
  }
  return problems;
}

function load(url, headers, settings, durationSeconds) {
  return autocannon({
    url,
    headers,
    connections: settings.connections,
    pipelining: 1,
    duration: durationSeconds,
  });
}

function requestFailures(measured, label) {
  const failures = [];
  if (measured.non2xx > 0) {
    const codes = Object.entries(measured.statusCodeStats)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count }]) => `${count}× ${code}`)
      .join(', ');
    failures.push(`${label}: ${measured.non2xx} non-2xx responses (${codes})`);
  }
  if (measured.errors > 0) failures.push(`${label}: ${measured.errors} connection errors`);
  if (measured.timeouts > 0) failures.push(`${label}: ${measured.timeouts} timeouts`);
  if (measured['2xx'] === 0) failures.push(`${label}: no successful response at all`);
  return failures;
}

/** Medians per mode, as a markdown table. */
export function formatHttpMedians(http) {
  const lines = [
    '| mode | median req/s | × bare | server CPU µs/req | × bare | server CPU, share of a core | autocannon CPU, share of a core | p99 latency ms | non-2xx |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const mode of MODES) {
    const m = http.medians[mode];
    lines.push(
      `| ${mode} | ${formatInteger(m.requestsPerSecond)} | ` +
        `${(m.requestsPerSecond / http.medians.bare.requestsPerSecond).toFixed(3)} | ` +
        `${m.serverCpuMicrosPerRequest.toFixed(1)} | ` +
        `${(m.serverCpuMicrosPerRequest / http.medians.bare.serverCpuMicrosPerRequest).toFixed(3)} | ` +
        `${(m.serverCpuShare * 100).toFixed(0)} % | ${(m.clientCpuShare * 100).toFixed(0)} % | ` +
        `${m.latencyP99Ms} | ${m.non2xx} |`,
    );
  }
  return lines.join('\n');
}

/** Every measured round, as a markdown table. */
export function formatHttpRounds(http) {
  const lines = [
    '| round | mode | req/s | server CPU µs/req | p50 ms | p99 ms | non-2xx | errors |',
    '|--:|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of http.rounds) {
    lines.push(
      `| ${r.round} | ${r.mode} | ${formatInteger(r.requestsPerSecond)} | ` +
        `${r.serverCpuMicrosPerRequest.toFixed(1)} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ` +
        `${r.non2xx} | ${r.errors + r.timeouts} |`,
    );
  }
  return lines.join('\n');
}

export function formatHttpRatios(http) {
  const { ratios } = http;
  return [
    '| ratio | value |',
    '|---|--:|',
    `| auth / bare, median req/s | ${ratios.authOverBare.toFixed(3)} |`,
    `| noop / bare, median req/s | ${ratios.noopOverBare.toFixed(3)} |`,
    `| auth / noop, median req/s | ${ratios.authOverNoop.toFixed(3)} |`,
    `| bare / auth, server CPU per request | ${ratios.cpuAuthOverBare.toFixed(3)} |`,
    `| auth − bare, server CPU per request | ${http.authCostMicros.toFixed(1)} µs |`,
    `| auth − noop, server CPU per request | ${http.authCostOverNoopMicros.toFixed(1)} µs |`,
    `| rate (memory) / auth, median req/s | ${ratios.rateOverAuth.toFixed(3)} |`,
    `| rate (Redis) / auth, median req/s | ${ratios.redisRateOverAuth.toFixed(3)} |`,
    `| rate (memory) − auth, server CPU per request | ${http.rateCostMicros.toFixed(1)} µs |`,
    `| rate (Redis) − auth, server CPU per request | ${http.redisRateCostMicros.toFixed(1)} µs |`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const http = await runExpressHttpBench({ log: (line) => console.error(line) });
  if (http.rounds.length > 0) {
    console.log(formatHttpMedians(http));
    console.log();
    console.log(formatHttpRatios(http));
    console.log();
    console.log(
      `auth/bare ${http.ratios.authOverBare.toFixed(3)} ` +
        `(floor ${RATIO_FLOOR}, aim ${RATIO_AIM}): ${http.verdict.mark}`,
    );
  }
  if (!http.ok) {
    console.error('FAILED: not every request got a 200; the figures above mean nothing:');
    for (const failure of http.failures) console.error(`  ${failure}`);
    process.exitCode = 1;
  }
}
