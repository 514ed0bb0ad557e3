// The HTTP benchmark machinery every framework's section uses (express-http.mjs, koa-http.mjs,
// nest-http.mjs): one server process per mode (a bench/*-server.mjs script), autocannon in
// this process, the same request to every mode, rounds in rotating order, medians; then each
// compared pair of modes in paired rounds, the two measured back to back, median of the rounds'
// ratios (the figure the targets are judged on).
//
// Every request of every mode carries the same `Authorization: Bearer <key>` header (a valid,
// cached key of every authenticating server), so all modes receive byte-identical requests.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '@orkesta/auth';
import autocannon from 'autocannon';
import {
  formatInteger,
  formatRatio,
  markdownTable,
  median,
  positiveNumber,
  ratio,
  sum,
  verdictRow,
} from './common.mjs';
import { ROUTE } from './server-common.mjs';

/** The variables every HTTP section reads. */
export const HTTP_ENV = [
  'BENCH_ROUNDS',
  'BENCH_DURATION',
  'BENCH_WARMUP',
  'BENCH_CONNECTIONS',
  'BENCH_PAIR_ROUNDS',
  'BENCH_PAIR_DURATION',
  'BENCH_PERF',
];

/**
 * A section of run.mjs for one group of modes (see `runHttpBench`): measures it, compares the
 * pairs `comparisons` (`[of, over]` mode names; each is also measured in paired rounds), and
 * puts each of `targets` (`{ of, over, figure, floor?, aim? }`, judged on the paired rounds'
 * inverse ratio of server CPU per request; without a floor it is only reported) in the Verdict table,
 * with whether every request got a 200.
 * `about` is the markdown that says what the modes are; `baseline` the mode the medians table
 * compares every mode with.
 */
export function httpSection({ id, title, env = [], group, about, baseline, comparisons, targets }) {
  return {
    id,
    title,
    env: [...HTTP_ENV, ...env],
    async run({ log, pinning }) {
      const result = await runHttpBench(
        { ...group, pairs: comparisons },
        { log, settings: httpSettings(), pinning },
      );
      return httpReport(result, { about, baseline, comparisons, targets });
    },
  };
}

/** The report of an HTTP section from a result of `runHttpBench` (see `httpSection`). */
export function httpReport(result, { about, baseline, comparisons, targets }) {
  const compared = comparisons.map(([of, over]) => compare(result, of, over));
  return {
    settings: `${result.group}: ${formatHttpSettings(result)}`,
    verdicts: [
      ...targets.map(({ of, over, figure, floor, aim }) =>
        verdictRow({
          figure: `${figure}, paired rounds (server CPU per request, inverted)`,
          value: compare(result, of, over).paired,
          floor,
          aim,
          format: formatRatio,
        }),
      ),
      answeredVerdict(result),
    ],
    body: httpSectionBody(result, { about, baseline, comparisons: compared }),
    failures: result.failures,
  };
}

/** Settings from the environment, with the defaults `pnpm bench` uses. */
export function httpSettings(env = process.env) {
  return {
    rounds: positiveNumber(env, 'BENCH_ROUNDS', 5, { integer: true }),
    durationSeconds: positiveNumber(env, 'BENCH_DURATION', 3, { integer: true }),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP', 5, { integer: true }),
    connections: positiveNumber(env, 'BENCH_CONNECTIONS', 10, { integer: true }),
    pairRounds: positiveNumber(env, 'BENCH_PAIR_ROUNDS', 10, { integer: true }),
    pairSeconds: positiveNumber(env, 'BENCH_PAIR_DURATION', 2, { integer: true }),
    perf: perfPlan(env),
  };
}

/**
 * Whether the servers' instructions can be counted with `perf stat` (Linux perf with access to
 * the hardware counter; `BENCH_PERF=0` turns it off). Instructions a request hardly move with
 * other load on the machine, unlike time: on a shared machine, their ratios are the steadier
 * figure.
 */
export function perfPlan(env = process.env) {
  if (env.BENCH_PERF === '0') return { enabled: false, reason: 'off (BENCH_PERF=0)' };
  const probe = spawnSync('perf', ['stat', '-x', ',', '-e', 'instructions:u', 'true'], {
    encoding: 'utf8',
  });
  if (probe.error !== undefined || probe.status !== 0 || !/^\d+,/m.test(probe.stderr)) {
    return { enabled: false, reason: 'off (perf cannot count instructions here)' };
  }
  return { enabled: true, reason: 'perf stat, instructions:u + instructions:k of the server' };
}

/** The settings as one line of the Run table. */
export function formatHttpSettings(result) {
  const s = result.settings;
  return (
    `${s.rounds} rounds × ${result.modes.length} modes × ${s.durationSeconds} s, after ` +
    `${s.warmupSeconds} s warm-up per server; paired: ${s.pairRounds} windows × 2 modes × ` +
    `${result.pairs.length} pairs × ${s.pairSeconds} s; ${s.connections} connections per ` +
    `load, no pipelining; instructions: ${s.perf.reason}`
  );
}

/**
 * Measures one group of modes against each other. `group.server` is the server script (a URL),
 * `group.modes` lists `{ name, auth, rateLimited }`: `auth` is `'orkesta'` for our middleware
 * (which must refuse a missing key with 401 `missing_api_key` and a wrong one with 401
 * `invalid_api_key`), `'peer'` for another library (401 for both), `'none'` for no auth.
 *
 * Starts one server per mode, checks each answers as it should, warms each up, then measures
 * `settings.rounds` rounds; every round measures every mode once, in a rotating order so that
 * no mode always runs first or last. `failures` lists every request that did not get a 200
 * (and every failed check); it must be empty for the figures to mean anything.
 */
export async function runHttpBench(group, { log = () => {}, settings = httpSettings(), pinning }) {
  const servers = new Map();
  const modes = group.modes.map((m) => m.name);
  try {
    const key = generateApiKey('test').token;
    for (const mode of group.modes) {
      servers.set(mode.name, await startServer(group.server, mode.name, pinning, key));
    }
    const headers = { authorization: `Bearer ${key}` };
    const failures = [];

    for (const mode of group.modes) {
      for (const problem of await checkServer(mode, servers.get(mode.name).url, headers)) {
        failures.push(`${group.name} ${mode.name}: ${problem}`);
      }
    }
    if (failures.length > 0) return summarize(group, settings, [], [], failures);

    for (const mode of modes) {
      log(`${group.name}: warming up ${mode} (${settings.warmupSeconds} s)…`);
      const warm = await load(servers.get(mode).url, headers, settings, settings.warmupSeconds);
      failures.push(...requestFailures(warm, `${group.name} ${mode} warm-up`));
    }

    const rounds = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const shift = (round - 1) % modes.length;
      for (const mode of [...modes.slice(shift), ...modes.slice(0, shift)]) {
        const row = await measure(servers.get(mode), headers, settings);
        row.round = round;
        rounds.push(row);
        failures.push(...row.failures.map((f) => `${group.name} ${mode} round ${round}: ${f}`));
        log(
          `${group.name} round ${round} ${mode.padEnd(12)} ${Math.round(row.requestsPerSecond)} req/s, ` +
            `server ${row.serverCpuMicrosPerRequest.toFixed(1)} µs CPU/req, ` +
            `${formatKiloInstructions(row.serverInstructionsPerRequest)} instructions/req ` +
            `(${Math.round(row.serverCpuShare * 100)} % of a core; autocannon ` +
            `${Math.round(row.clientCpuShare * 100)} %), non-2xx ${row.non2xx}`,
        );
      }
    }

    const pairs = [];
    for (const [of, over] of group.pairs ?? []) {
      const pair = await paired(servers.get(of), servers.get(over), headers, settings);
      pairs.push(pair);
      failures.push(...pair.failures.map((f) => `${group.name} ${of} paired with ${over}: ${f}`));
      log(
        `${group.name} paired: ${of} / ${over}, server CPU per request inverted ` +
          pair.rounds.map((r) => r.cpuRatio.toFixed(3)).join(' ') +
          `, median ${pair.cpuRatio.toFixed(3)}; req/s ` +
          pair.rounds.map((r) => r.requestsRatio.toFixed(3)).join(' ') +
          `, median ${pair.requestsRatio.toFixed(3)}`,
      );
    }
    return summarize(group, settings, rounds, pairs, failures);
  } finally {
    for (const server of servers.values()) server.stop();
  }
}

/**
 * Two modes measured back to back: `of`, `over`, `of`, `over`, … `pairRounds` windows of
 * `pairSeconds` each, alone on the server core, and every two adjacent windows compared (so
 * `of` runs first in one comparison and second in the next: a drift of the machine's
 * speed favours neither). A comparison is the inverse ratio of the two servers' CPU time per
 * request (what the throughput ratio is on a core the server saturates) and the ratio of their
 * req/s. Each window's two measurements are seconds apart, so a swing of this shared VM's speed
 * lands in few comparisons, and the median leaves those out; the rounds of all modes in turn
 * (above; for Express, a mode's rounds are 20 s apart) carry swings into their medians.
 *
 * A server's CPU for a window is counted from the window's start to the start of its next
 * one, the other server's window between: work its requests left for later (a collection V8
 * finishes once the load stops) is its own.
 *
 * Not side by side (both servers loaded at once on one core), which the previous harness did:
 * sharing a core added tens of µs of CPU to every request of both servers (each evicting the
 * other's caches), which pulled every ratio towards 1 (auth / passport 1.20 in the median of
 * twelve side-by-side runs, 1.15 to 1.31, against 1.29 and 1.31 back to back; auth / bare 0.92
 * against 0.86 and 0.90; the same code the same day). Each server first serves a window's length uncounted: a server idle through
 * other pairs runs slow until its heap has grown back.
 */
async function paired(of, over, headers, settings) {
  const servers = [of, over];
  const failures = [];
  for (const server of servers) {
    const warm = await load(server.url, headers, settings, settings.pairSeconds);
    failures.push(...requestFailures(warm, `warm-up, ${server.mode}`));
  }
  const cpuNow = () => Promise.all(servers.map((server) => server.cpu()));
  // readings[k]: both servers' CPU before window k; the last one after a window's length idle.
  const readings = [await cpuNow()];
  const loads = [];
  for (let k = 0; k < 2 * settings.pairRounds; k++) {
    const server = servers[k % 2];
    const measured = await load(server.url, headers, settings, settings.pairSeconds);
    loads.push(measured);
    readings.push(await cpuNow());
    failures.push(...requestFailures(measured, `window ${k + 1}, ${server.mode}`));
  }
  await new Promise((resolve) => setTimeout(resolve, settings.pairSeconds * 1_000));
  readings.push(await cpuNow());
  const windows = loads.map((measured, k) => {
    const s = k % 2;
    const own = cpuMicros(readings[k][s], readings[k + 1][s]);
    const through = cpuMicros(readings[k][s], readings[k + 2][s]);
    const completed = measured.requests.total;
    return {
      mode: servers[s].mode,
      requestsPerSecond: measured['2xx'] / measured.duration,
      serverCpuMicrosPerRequest: completed > 0 ? through / completed : Number.NaN,
      serverCpuShare: own / 1e6 / measured.duration,
      completed,
      non2xx: measured.non2xx,
    };
  });
  const rounds = windows.slice(1).map((later, i) => {
    const earlier = windows[i];
    const [a, b] = i % 2 === 0 ? [earlier, later] : [later, earlier];
    return {
      round: i + 1,
      first: i % 2 === 0 ? 'a' : 'b',
      ofPerSecond: a.requestsPerSecond,
      overPerSecond: b.requestsPerSecond,
      ofCpuMicrosPerRequest: a.serverCpuMicrosPerRequest,
      overCpuMicrosPerRequest: b.serverCpuMicrosPerRequest,
      ofCpuShare: a.serverCpuShare,
      overCpuShare: b.serverCpuShare,
      cpuRatio: ratio(b.serverCpuMicrosPerRequest, a.serverCpuMicrosPerRequest),
      requestsRatio: ratio(a.requestsPerSecond, b.requestsPerSecond),
      non2xx: a.non2xx + b.non2xx,
    };
  });
  const cpuRatios = rounds.map((r) => r.cpuRatio);
  return {
    of: of.mode,
    over: over.mode,
    windows,
    rounds,
    cpuRatio: median(cpuRatios),
    cpuRatioLowest: Math.min(...cpuRatios),
    cpuRatioHighest: Math.max(...cpuRatios),
    requestsRatio: median(rounds.map((r) => r.requestsRatio)),
    failures,
  };
}

/** Microseconds of CPU (user and system) between two `cpu()` answers. */
function cpuMicros(before, after) {
  return after.user - before.user + (after.system - before.system);
}

/** One mode for `durationSeconds`: throughput, latency and the CPU both sides spent. */
async function measure(server, headers, settings) {
  const counter = settings.perf.enabled ? await countInstructions(server.pid) : undefined;
  const cpuBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const measured = await load(server.url, headers, settings, settings.durationSeconds);
  const client = process.cpuUsage(clientBefore);
  const cpuAfter = await server.cpu();
  const instructions = counter === undefined ? Number.NaN : await counter.stop();
  const micros = cpuMicros(cpuBefore, cpuAfter);
  const completed = measured.requests.total;
  return {
    mode: server.mode,
    requestsPerSecond: measured['2xx'] / measured.duration,
    completed,
    non2xx: measured.non2xx,
    errors: measured.errors,
    timeouts: measured.timeouts,
    latencyP50Ms: measured.latency.p50,
    latencyP99Ms: measured.latency.p99,
    serverCpuMicrosPerRequest: completed > 0 ? micros / completed : Number.NaN,
    serverCpuShare: micros / 1e6 / measured.duration,
    clientCpuShare: (client.user + client.system) / 1e6 / measured.duration,
    serverInstructionsPerRequest: completed > 0 ? instructions / completed : Number.NaN,
    failures: requestFailures(measured, ''),
  };
}

/**
 * Starts counting the instructions (user and kernel) of process `pid`; `stop()` ends the count
 * and resolves to it. The count covers a little more than the load (perf's start and stop),
 * time in which an idle server executes next to nothing.
 */
async function countInstructions(pid) {
  const perf = spawn(
    'perf',
    ['stat', '-x', ',', '-e', 'instructions:u,instructions:k', '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let report = '';
  perf.stderr.setEncoding('utf8').on('data', (chunk) => {
    report += chunk;
  });
  const exited = once(perf, 'exit');
  // perf prints nothing until it stops: give it a moment to attach before the load starts.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async stop() {
      perf.kill('SIGINT');
      await exited;
      return sum(['instructions:u', 'instructions:k'].map((event) => perfCount(report, event)));
    },
  };
}

/** The count of `event` in `perf stat -x ,` output; NaN when perf did not count it. */
export function perfCount(report, event) {
  const line = report.split('\n').find((l) => l.split(',')[2] === event);
  const value = Number(line?.split(',')[0]);
  return line === undefined || !Number.isFinite(value) ? Number.NaN : value;
}

/** Medians per mode over the rounds, and the paired rounds of the compared pairs. */
function summarize(group, settings, rounds, pairs, failures) {
  const medians = {};
  for (const mode of group.modes) {
    const mine = rounds.filter((r) => r.mode === mode.name);
    medians[mode.name] = {
      requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
      serverCpuMicrosPerRequest: median(mine.map((r) => r.serverCpuMicrosPerRequest)),
      serverCpuShare: median(mine.map((r) => r.serverCpuShare)),
      clientCpuShare: median(mine.map((r) => r.clientCpuShare)),
      latencyP99Ms: median(mine.map((r) => r.latencyP99Ms)),
      serverInstructionsPerRequest: median(mine.map((r) => r.serverInstructionsPerRequest)),
      non2xx: sum(mine.map((r) => r.non2xx)),
      completed: sum(mine.map((r) => r.completed)),
    };
  }
  return {
    group: group.name,
    settings,
    modes: group.modes.map((m) => m.name),
    rounds,
    pairs,
    medians,
    failures,
    ok: failures.length === 0 && rounds.length > 0,
  };
}

/**
 * `of` against `over`, both modes of one result: in paired rounds (NaN when the pair was not
 * measured so), the median inverse ratio of server CPU per request, its lowest and highest
 * round, and the median ratio of req/s; then, from the rounds of all modes in turn, the ratio
 * of median req/s; the ratios of server CPU time
 * and of server instructions per request, inverted (over / of: what the throughput ratio would
 * be on a purely CPU-bound server; instructions are the least moved by other load on the
 * machine); and what a request of `of` costs more than one of `over`.
 */
export function compare(result, of, over) {
  const a = result.medians[of];
  const b = result.medians[over];
  const pair = (result.pairs ?? []).find((p) => p.of === of && p.over === over);
  return {
    of,
    over,
    paired: pair === undefined ? Number.NaN : pair.cpuRatio,
    pairedLowest: pair === undefined ? Number.NaN : pair.cpuRatioLowest,
    pairedHighest: pair === undefined ? Number.NaN : pair.cpuRatioHighest,
    pairedRequests: pair === undefined ? Number.NaN : pair.requestsRatio,
    requestsPerSecond: ratio(a.requestsPerSecond, b.requestsPerSecond),
    cpuPerRequest: ratio(b.serverCpuMicrosPerRequest, a.serverCpuMicrosPerRequest),
    cpuCostMicros: a.serverCpuMicrosPerRequest - b.serverCpuMicrosPerRequest,
    instructionsPerRequest: ratio(b.serverInstructionsPerRequest, a.serverInstructionsPerRequest),
    instructionsCost: a.serverInstructionsPerRequest - b.serverInstructionsPerRequest,
  };
}

/** The Verdict row saying whether every request of every round (paired rounds too) got a 200. */
export function answeredVerdict(result) {
  const measured = [...result.rounds, ...(result.pairs ?? []).flatMap((p) => p.windows)];
  const completed = sum(measured.map((r) => r.completed));
  const non2xx = sum(measured.map((r) => r.non2xx));
  return {
    figure: `${result.group}: every request answered 200`,
    floor: 'all',
    aim: 'all',
    measured: `${formatInteger(completed - non2xx)} of ${formatInteger(completed)}`,
    mark: result.ok ? 'pass' : 'FAIL (see Failures)',
    pass: result.ok,
  };
}

async function startServer(script, mode, pinning, key) {
  const node = [process.execPath, fileURLToPath(script), mode];
  const [command, ...args] = pinning?.enabled
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
    pid: child.pid,
    url: `http://127.0.0.1:${announced.port}${ROUTE}`,
    cpu,
    stop: () => {
      lines.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * One request with the key (must be 200 and the account list); for an authenticating mode, also
 * a request without a key and one with a wrong key, which must be refused: proof that the
 * middleware is really in the way.
 */
async function checkServer(mode, url, headers) {
  const problems = [];
  const good = await fetch(url, { headers });
  const body = await good.text();
  if (good.status !== 200) problems.push(`a request with the key got ${good.status}: ${body}`);
  else if (JSON.parse(body).data?.length !== 2) {
    problems.push('the 200 body is not the account list');
  }
  if (mode.rateLimited && !/^"read-only";r=\d+;t=\d+$/.test(good.headers.get('ratelimit') ?? '')) {
    problems.push(
      `an admitted request carried no RateLimit field: ${good.headers.get('ratelimit')}`,
    );
  }
  if (mode.auth === 'none') return problems;
  const wrong =
    headers.authorization.slice(0, -1) + (headers.authorization.endsWith('0') ? '1' : '0');
  const refusals = [
    ['without a key', {}, 'missing_api_key'],
    ['with a wrong key', { authorization: wrong }, 'invalid_api_key'],
  ];
  for (const [what, sent, code] of refusals) {
    const response = await fetch(url, { headers: sent });
    const refusal = await response.json().catch(() => ({}));
    if (response.status !== 401 || (mode.auth === 'orkesta' && refusal.code !== code)) {
      problems.push(`a request ${what} got ${response.status} ${refusal.code ?? ''}`.trim());
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
  const at = label === '' ? '' : `${label}: `;
  const failures = [];
  if (measured.non2xx > 0) {
    const codes = Object.entries(measured.statusCodeStats)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, { count }]) => `${count}× ${code}`)
      .join(', ');
    failures.push(`${at}${measured.non2xx} non-2xx responses (${codes})`);
  }
  if (measured.errors > 0) failures.push(`${at}${measured.errors} connection errors`);
  if (measured.timeouts > 0) failures.push(`${at}${measured.timeouts} timeouts`);
  if (measured['2xx'] === 0) failures.push(`${at}no successful response at all`);
  return failures;
}

/** Thousands of instructions, one decimal; `n/a` when not counted. */
function formatKiloInstructions(value) {
  return Number.isFinite(value) ? `${(value / 1_000).toFixed(1)}k` : 'n/a';
}

/** Medians per mode, against `baseline` (a mode name), as a markdown table. */
export function formatHttpMedians(result, baseline) {
  const base = result.medians[baseline];
  return markdownTable(
    [
      'mode',
      'median req/s',
      `× ${baseline}`,
      'server CPU µs/req',
      `× ${baseline}`,
      'server instructions/req',
      `× ${baseline}`,
      'server CPU, share of a core',
      'autocannon CPU, share of a core',
      'p99 latency ms',
      'non-2xx',
    ],
    result.modes.map((mode) => {
      const m = result.medians[mode];
      return [
        mode,
        formatInteger(m.requestsPerSecond),
        formatRatio(ratio(m.requestsPerSecond, base.requestsPerSecond)),
        m.serverCpuMicrosPerRequest.toFixed(1),
        formatRatio(ratio(m.serverCpuMicrosPerRequest, base.serverCpuMicrosPerRequest)),
        formatKiloInstructions(m.serverInstructionsPerRequest),
        formatRatio(ratio(m.serverInstructionsPerRequest, base.serverInstructionsPerRequest)),
        `${(m.serverCpuShare * 100).toFixed(0)} %`,
        `${(m.clientCpuShare * 100).toFixed(0)} %`,
        String(m.latencyP99Ms),
        String(m.non2xx),
      ];
    }),
    { rightAligned: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
  );
}

/** Comparisons (from `compare`) as a markdown table. */
export function formatComparisons(comparisons) {
  return markdownTable(
    [
      'comparison',
      'paired rounds: server CPU per request, inverse ratio',
      'paired rounds: lowest – highest round',
      'paired rounds: req/s ratio',
      'all modes in turn: median req/s, ratio',
      'server CPU per request, inverse ratio',
      'server instructions per request, inverse ratio',
      'server CPU per request, difference',
      'server instructions per request, difference',
    ],
    comparisons.map((c) => [
      `${c.of} / ${c.over}`,
      formatRatio(c.paired),
      `${formatRatio(c.pairedLowest)} – ${formatRatio(c.pairedHighest)}`,
      formatRatio(c.pairedRequests),
      formatRatio(c.requestsPerSecond),
      formatRatio(c.cpuPerRequest),
      formatRatio(c.instructionsPerRequest),
      Number.isFinite(c.cpuCostMicros) ? `${c.cpuCostMicros.toFixed(1)} µs` : 'n/a',
      formatKiloInstructions(c.instructionsCost),
    ]),
    { rightAligned: [1, 2, 3, 4, 5, 6, 7, 8] },
  );
}

/** Every paired round, as a markdown table, folded away. */
export function formatPairedRounds(result) {
  const table = markdownTable(
    [
      'pair (a / b)',
      'round',
      'measured first',
      'server CPU µs/req, a',
      'server CPU µs/req, b',
      'CPU per request, inverse ratio',
      'req/s, a',
      'req/s, b',
      'req/s ratio',
      'server CPU, share of a core, a / b',
      'non-2xx',
    ],
    result.pairs.flatMap((p) =>
      p.rounds.map((r) => [
        `${p.of} / ${p.over}`,
        String(r.round),
        r.first,
        r.ofCpuMicrosPerRequest.toFixed(1),
        r.overCpuMicrosPerRequest.toFixed(1),
        formatRatio(r.cpuRatio),
        formatInteger(r.ofPerSecond),
        formatInteger(r.overPerSecond),
        formatRatio(r.requestsRatio),
        `${(r.ofCpuShare * 100).toFixed(0)} % / ${(r.overCpuShare * 100).toFixed(0)} %`,
        String(r.non2xx),
      ]),
    ),
    { rightAligned: [1, 3, 4, 5, 6, 7, 8, 9, 10] },
  );
  return `<details><summary>Every paired round</summary>\n\n${table}\n\n</details>`;
}

/** What "paired rounds" means, under every HTTP section's comparisons. */
export const PAIRED_ROUNDS = `"Paired rounds" measure the two modes of a comparison back to back, alone on the server
core in turn (a, b, a, b, …, windows of a few seconds), and compare every two adjacent windows,
so that each mode is measured first in alternate rounds: the server CPU time each spent per
request, inverted (what the throughput ratio is on a core the server saturates), and the
req/s. A server's CPU for a window runs from its start to the start of its next window: work its
requests left for later (a collection V8 finishes once the load stops) counts as its own. This
shared VM's speed swings by tens of percent from one second to the next: a swing lands in the
few rounds it overlaps, and the median over the rounds leaves those out (compare the spread of
the paired rounds with that of the rounds of all modes in turn, where two rounds of a mode are
20 s apart for Express). The targets are judged on the paired CPU ratio. The previous harness
ran the two servers side by side on one core: sharing it added tens of µs to every request of
both (each evicting the other's caches) and pulled every ratio towards 1 (auth / passport
measured 1.20 so in the median of twelve runs, 1.15 to 1.31, against 1.29 and 1.31 back to back,
the same code the same day).`;

/** Every measured round, as a markdown table, folded away. */
export function formatHttpRounds(result) {
  const table = markdownTable(
    [
      'round',
      'mode',
      'req/s',
      'server CPU µs/req',
      'server instructions/req',
      'p50 ms',
      'p99 ms',
      'non-2xx',
      'errors',
    ],
    result.rounds.map((r) => [
      String(r.round),
      r.mode,
      formatInteger(r.requestsPerSecond),
      r.serverCpuMicrosPerRequest.toFixed(1),
      formatKiloInstructions(r.serverInstructionsPerRequest),
      String(r.latencyP50Ms),
      String(r.latencyP99Ms),
      String(r.non2xx),
      String(r.errors + r.timeouts),
    ]),
    { rightAligned: [0, 2, 3, 4, 5, 6, 7, 8] },
  );
  return `<details><summary>Every round</summary>\n\n${table}\n\n</details>`;
}

/**
 * The body of an HTTP section: the medians, the comparisons, every round, and the failures;
 * `about` (markdown) says what the modes are.
 */
export function httpSectionBody(result, { about, baseline, comparisons }) {
  if (result.rounds.length === 0) {
    return `${about}\n\nNo round was measured: ${result.failures.join('; ')}`;
  }
  return [
    about,
    '',
    formatHttpMedians(result, baseline),
    '',
    formatComparisons(comparisons),
    '',
    PAIRED_ROUNDS,
    '',
    formatHttpRounds(result),
    ...(result.pairs.length > 0 ? ['', formatPairedRounds(result)] : []),
  ].join('\n');
}
