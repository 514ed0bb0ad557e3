// Runs every benchmark section and rewrites bench/RESULTS.md with the figures of this one run.
//
//   pnpm bench             (tsc -b && node --expose-gc bench/run.mjs)
//   BENCH_ONLY=core,flood node --expose-gc bench/run.mjs
//                          only those sections (ids below); prints the markdown and leaves
//                          RESULTS.md as it is, so that it always holds a whole run
//
// Exits 1 when a benchmark failed (a request that did not get a 200, a flood that reached the
// store, a section that threw). Figures below their floor are marked FAIL in RESULTS.md; they
// also make the exit code 1 when BENCH_STRICT=1.
//
// A section is a module exporting `section` (see common.mjs for its shape). To add one, write
// the module and add its path below: one line.

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { formatVerdicts, markdownTable, pinningPlan, pinThisProcess } from './common.mjs';

/** Every section, in the order they run and appear in RESULTS.md. */
const SECTIONS = [
  './authenticate.mjs',
  './constant-time.mjs',
  './rate-limit.mjs',
  './signed-keys.mjs',
  './store-lookup.mjs',
  './flood.mjs',
  './cache-memory.mjs',
  './express-http.mjs',
  './koa-http.mjs',
  './fastify-http.mjs',
  './nest-http.mjs',
];

const RESULTS = new URL('./RESULTS.md', import.meta.url);
const RUNNER_ENV = ['BENCH_PIN', 'BENCH_STRICT', 'BENCH_ONLY'];

const log = (line) => console.error(`[bench] ${line}`);
const started = new Date();
const loadBefore = os.loadavg();
const pinning = pinningPlan();
// Pin now: the in-process benchmarks run on the CPU autocannon uses later, away from servers.
if (pinning.enabled) pinThisProcess(pinning.clientCpu);

const sections = [];
for (const path of SECTIONS) sections.push((await import(new URL(path, import.meta.url))).section);
const only = (process.env.BENCH_ONLY ?? '').split(',').filter((id) => id !== '');
for (const id of only) {
  if (!sections.some((s) => s.id === id)) {
    throw new Error(
      `BENCH_ONLY names "${id}"; the sections are ${sections.map((s) => s.id).join(', ')}`,
    );
  }
}
const chosen = only.length === 0 ? sections : sections.filter((s) => only.includes(s.id));

const reports = [];
for (const section of chosen) {
  log(`${section.id}: ${section.title}`);
  const start = performance.now();
  let report;
  try {
    report = await section.run({ log, pinning });
  } catch (error) {
    // One broken section must not cost the figures of the others.
    log(`${section.id} failed: ${error.stack ?? error}`);
    report = {
      settings: 'failed',
      verdicts: [],
      body: `Not measured: the benchmark failed (${error.message ?? error}).`,
      failures: [`${section.id}: the benchmark failed: ${error.message ?? error}`],
    };
  }
  reports.push({ section, report, seconds: (performance.now() - start) / 1_000 });
  console.log(`## ${section.title}\n\n${report.body}\n`);
}
const loadAfter = os.loadavg();

const envNames = [...new Set([...chosen.flatMap((s) => s.env), ...RUNNER_ENV])];
const envPrefix = envNames
  .filter((name) => process.env[name] !== undefined && process.env[name] !== '')
  .map((name) => `${name}=${process.env[name]} `)
  .join('');
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `${envPrefix}pnpm bench  (= tsc -b && node --expose-gc bench/run.mjs)`
    : `${envPrefix}node ${process.execArgv.join(' ')} bench/run.mjs`.replace(/ {2,}/g, ' ');
const load = (values) => values.map((v) => v.toFixed(2)).join(' ');
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const cpus = os.cpus();
const verdicts = reports.flatMap((r) => r.report.verdicts);
const failures = reports.flatMap((r) => r.report.failures);
const minutes = reports.reduce((n, r) => n + r.seconds, 0) / 60;

const md = [
  '# Benchmark results',
  '',
  'Written by `bench/run.mjs` on every run; do not edit by hand. Every figure comes from the',
  'run described here, and every ratio compares figures of this same run. See',
  '[README.md](./README.md) for what each benchmark measures.',
  '',
  '## Run',
  '',
  markdownTable(
    ['', ''],
    [
      ['date', started.toISOString()],
      ['command', `\`${command}\``],
      [
        'machine',
        `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib(os.totalmem())}`,
      ],
      ['os', `${os.type()} ${os.release()} ${os.arch()}`],
      ['node', process.version],
      ['load average (1, 5, 15 min)', `before ${load(loadBefore)}; after ${load(loadAfter)}`],
      ['CPU pinning', pinning.reason],
      ['duration', `${minutes.toFixed(1)} min`],
    ],
  ),
  '',
  markdownTable(
    ['section', 'settings', 'took'],
    reports.map(({ section, report, seconds }) => [
      section.title,
      report.settings ?? '',
      `${Math.round(seconds)} s`,
    ]),
    { rightAligned: [2] },
  ),
  '',
  '## Verdict',
  '',
  formatVerdicts(verdicts),
  '',
  ...reports.flatMap(({ section, report }) => [`## ${section.title}`, '', report.body, '']),
  ...(failures.length > 0
    ? [
        '## Failures',
        '',
        'The figures these concern do not measure what they claim:',
        '',
        ...failures.map((f) => `- ${f}`),
        '',
      ]
    : []),
];

const markdown = `${md.join('\n').trimEnd()}\n`;
if (only.length === 0) {
  writeFileSync(RESULTS, markdown);
  log(`wrote ${new URL(RESULTS).pathname} (${minutes.toFixed(1)} min)`);
} else {
  console.log(`${formatVerdicts(verdicts)}\n`);
  log(`BENCH_ONLY=${only.join(',')}: RESULTS.md left as it was (${minutes.toFixed(1)} min)`);
}

if (failures.length > 0) {
  log('FAILED:');
  for (const failure of failures) log(`  ${failure}`);
  process.exitCode = 1;
} else if (verdicts.some((v) => !v.pass) && process.env.BENCH_STRICT === '1') {
  log('FAILED: a figure is below its floor (BENCH_STRICT=1)');
  process.exitCode = 1;
}
