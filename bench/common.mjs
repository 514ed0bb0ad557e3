// Helpers shared by the benchmarks and their runner.
//
// A benchmark module exports a `section` that bench/run.mjs lists:
//
//   export const section = {
//     id: 'core',                         // for BENCH_ONLY
//     title: 'Core: ...',                 // heading in RESULTS.md
//     env: ['BENCH_MICRO_TIME'],          // variables that change what it measures
//     async run({ log, pinning }) {       // measures; throws when the benchmark itself broke
//       return {
//         settings: '...',                // one line for the Run table of RESULTS.md
//         verdicts: [verdictRow(...)],    // rows of the Verdict table (may be empty)
//         body: '...markdown...',         // the section in RESULTS.md, below its title
//         failures: [],                   // broken assertions: the run exits 1
//       };
//     },
//   };
//
// and ends with `if (isMain(import.meta.url)) await runAlone(section);` so that it can also be
// run on its own with `node bench/<file>.mjs`.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

/**
 * A figure against its floor and aim. Higher is better unless `lowerIsBetter`, in which case
 * `floor` is a ceiling the value must not exceed. NaN (not measured) never passes.
 */
export function verdict(value, floor, aim, { lowerIsBetter = false } = {}) {
  const meets = (bound) => (lowerIsBetter ? value <= bound : value >= bound);
  if (!meets(floor)) {
    return { pass: false, mark: lowerIsBetter ? 'FAIL (above ceiling)' : 'FAIL (below floor)' };
  }
  if (meets(aim)) return { pass: true, mark: 'pass (aim met)' };
  return { pass: true, mark: 'pass (floor met, aim not)' };
}

/**
 * One row of the Verdict table. `format` writes values (the measured one and the bounds);
 * without a floor the row only reports (`pass` stays true).
 */
export function verdictRow({
  figure,
  value,
  floor,
  aim = floor,
  format = (v) => v.toFixed(3),
  lowerIsBetter = false,
}) {
  const sign = lowerIsBetter ? '≤' : '≥';
  if (floor === undefined) {
    return { figure, floor: '—', aim: '—', measured: format(value), mark: 'reported', pass: true };
  }
  const { pass, mark } = verdict(value, floor, aim, { lowerIsBetter });
  return {
    figure,
    floor: `${sign} ${format(floor)}`,
    aim: `${sign} ${format(aim)}`,
    measured: format(value),
    mark,
    pass,
  };
}

/** Verdict rows as a markdown table. */
export function formatVerdicts(rows) {
  return [
    '| figure | floor | aim | measured | result |',
    '|---|--:|--:|--:|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.floor} | ${r.aim} | ${r.measured} | ${r.mark} |`),
  ].join('\n');
}

/** `value` rounded, with thousands separators, the same on every machine. */
export function formatInteger(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : String(value);
}

/**
 * Per-call figures of the tinybench task `name`, whose every sample ran `batch` calls: calls
 * per second, mean and p99 (of sample means) in ns, relative margin of error, samples.
 */
export function perCall(bench, name, batch) {
  const result = bench.getTask(name)?.result;
  if (result === undefined || !('latency' in result)) {
    throw new Error(`${name}: no result (${result?.state ?? 'missing'})`);
  }
  const { latency } = result;
  const meanNs = (latency.mean * 1e6) / batch;
  return {
    opsPerSecond: 1e9 / meanNs,
    meanNs,
    p99Ns: (latency.p99 * 1e6) / batch,
    rmePercent: latency.rme,
    samples: latency.samplesCount,
  };
}

/** A ratio to three decimals; `n/a` when either side was not measured. */
export function formatRatio(value) {
  return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
}

/** `a / b`, NaN unless both are positive finite numbers. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN;
}

/** Bytes as decimal megabytes (10^6 bytes), signed, one decimal: `+12.3 MB`. */
export function formatMegabytes(bytes) {
  const mb = bytes / 1e6;
  return `${mb >= 0 ? '+' : '−'}${Math.abs(mb).toFixed(1)} MB`;
}

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

/** A markdown table from a header row and rows of cells. Numeric columns align right. */
export function markdownTable(header, rows, { rightAligned = [] } = {}) {
  const align = header.map((_, i) => (rightAligned.includes(i) ? '--:' : '---'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** A positive number from an environment variable, or `fallback` when it is unset. */
export function positiveNumber(env, name, fallback, { integer = false } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return value;
}

/** Whether this module is the script node was started with. */
export function isMain(importMetaUrl) {
  const script = process.argv[1];
  return script !== undefined && importMetaUrl === pathToFileURL(script).href;
}

/**
 * Where the benchmarks pin their processes: the measuring process (tinybench, autocannon) on
 * one CPU and the HTTP servers on another, so the scheduler cannot move them onto each other's
 * core between rounds. Linux with `taskset` and at least 2 CPUs; `BENCH_PIN=0` turns it off.
 */
export function pinningPlan(env = process.env) {
  if (env.BENCH_PIN === '0') return { enabled: false, reason: 'off (BENCH_PIN=0)' };
  if (os.platform() !== 'linux') return { enabled: false, reason: 'off (not Linux)' };
  if (os.cpus().length < 2) return { enabled: false, reason: 'off (fewer than 2 CPUs)' };
  const probe = spawnSync('taskset', ['-c', '0', 'true']);
  if (probe.error !== undefined || probe.status !== 0) {
    return { enabled: false, reason: 'off (taskset not available)' };
  }
  return {
    enabled: true,
    clientCpu: 0,
    serverCpu: 1,
    reason: 'measuring process on CPU 0, servers on CPU 1',
  };
}

/** Pins every thread of this process to `cpu` (threads and processes started later inherit it). */
export function pinThisProcess(cpu) {
  const result = spawnSync('taskset', ['-a', '-c', '-p', String(cpu), String(process.pid)]);
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`taskset could not pin this process to CPU ${cpu}`);
  }
}

/**
 * Runs one section as `node bench/<file>.mjs` does: pinned like `run.mjs` pins, its markdown
 * and verdicts on stdout, progress on stderr; exit code 1 when an assertion failed.
 */
export async function runAlone(section) {
  const pinning = pinningPlan();
  if (pinning.enabled) pinThisProcess(pinning.clientCpu);
  const report = await section.run({ log: (line) => console.error(line), pinning });
  console.log(`## ${section.title}\n\n${report.body}\n`);
  if (report.verdicts.length > 0) console.log(`${formatVerdicts(report.verdicts)}\n`);
  if (report.failures.length > 0) {
    console.error('FAILED: the figures above do not measure what they claim:');
    for (const failure of report.failures) console.error(`  ${failure}`);
    process.exitCode = 1;
  }
}
