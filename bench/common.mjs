// Helpers shared by the benchmarks and their runner.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

/** A higher-is-better figure against its floor and aim. */
export function verdict(value, floor, aim) {
  if (!(value >= floor)) return { pass: false, mark: 'FAIL (below floor)' };
  if (value >= aim) return { pass: true, mark: 'pass (aim met)' };
  return { pass: true, mark: 'pass (floor met, aim not)' };
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

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
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

/** Pins every thread of this process to `cpu` (threads started later inherit it). */
export function pinThisProcess(cpu) {
  const result = spawnSync('taskset', ['-a', '-c', '-p', String(cpu), String(process.pid)]);
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`taskset could not pin this process to CPU ${cpu}`);
  }
}
