#!/usr/bin/env node
// Writes MUTATION.md from the core's mutation run (packages/core/stryker.config.mjs) and checks
// that every file holds its floor.
//
//   node scripts/mutation-report.mjs           rewrites MUTATION.md; exit 1 if a file is below its floor
//   node scripts/mutation-report.mjs --check   the same check, writing nothing
//
// A file's score is detected / (detected + undetected): detected is killed or timed out,
// undetected is survived or not covered. Two kinds of survivor are set aside, counted in
// neither, and listed in MUTATION.md:
// - message-only: a StringLiteral mutant (a string or template emptied or changed) lying
//   wholly inside the message argument of a call in MESSAGE_ARGUMENT. Tests assert codes, not
//   wording, on purpose. Any other mutator there (a condition inside a template) counts.
// - equivalent: a survivor listed in packages/core/mutation-equivalent.json, by file, start and
//   end, mutator and replacement, with one line saying why no test can tell it from the original.
// Static mutants (in module-level code, run once at import) are not run (`ignoreStatic`): their
// number is reported per file, and they count in neither.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const core = join(root, 'packages', 'core');
const REPORT = join(core, 'reports', 'mutation', 'mutation.json');
const EQUIVALENT = join(core, 'mutation-equivalent.json');
const OUTPUT = join(root, 'MUTATION.md');

/** The files held to the issue's aims: 95 % for the parsing and crypto ones, 90 % for the pipeline. */
const AIM_95 = [
  'src/steps/extract.ts',
  'src/key-format.ts',
  'src/scopes.ts',
  'src/hashing.ts',
  'src/constant-time.ts',
  'src/render.ts',
];
/** The pipeline: every step (`src/steps/`) and the mechanisms around them. */
const MECHANISMS = [
  'src/authenticator.ts',
  'src/key-cache.ts',
  'src/stored-record.ts',
  'src/insecure-key.ts',
  'src/hooks.ts',
];

/**
 * The floor of each file: the score a run must not fall below (the figure measured when it was
 * last raised; raise it as survivors are killed). Files without one are reported only.
 */
const FLOORS = JSON.parse(readFileSync(join(core, 'mutation-floors.json'), 'utf8'));

/**
 * The calls that make an error, with the position of their message argument: a mutant wholly
 * inside that argument changes only the wording. (`new KeyManagementError(code, message)`: the
 * code is behaviour, the message is not.)
 */
const MESSAGE_ARGUMENT = {
  ConfigurationError: 0,
  MalformedAuthorizationHeaderError: 0,
  Error: 0,
  TypeError: 0,
  RangeError: 0,
  KeyManagementError: 1,
  StoredRecordError: 1,
  invalid: 0,
  // Not errors, but their arguments at these positions only ever go into a message.
  optionsObject: 3,
  assertScope: 1,
  storedDate: 2,
  positiveInteger: 1,
  optionalBoolean: 1,
};
const ERRORS = Object.keys(MESSAGE_ARGUMENT).filter((name) => /^[A-Z]/.test(name));
const FUNCTIONS = Object.keys(MESSAGE_ARGUMENT).filter((name) => /^[a-z]/.test(name));
const CALL = new RegExp(
  `(?:\\bnew\\s+(${ERRORS.join('|')})|(?<![\\w.])(${FUNCTIONS.join('|')}))\\s*\\(`,
  'g',
);

/** The [start, end) offsets of every message argument in `source`. */
export function messageRanges(source) {
  const ranges = [];
  for (const match of source.matchAll(CALL)) {
    const wanted = MESSAGE_ARGUMENT[match[1] ?? match[2]];
    const args = argumentRanges(source, match.index + match[0].length);
    if (args[wanted] !== undefined) ranges.push(args[wanted]);
  }
  return ranges;
}

/** The top-level arguments of a call whose `(` ends just before `from`, as offset ranges. */
function argumentRanges(source, from) {
  const ranges = [];
  let depth = 0;
  let argStart = from;
  const templates = []; // brace depth at which each open template's `${` began
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (c === "'" || c === '"') {
      i = skipQuoted(source, i, c);
    } else if (c === '`') {
      i = skipTemplate(source, i, templates, depth);
    } else if (c === '}' && templates.length > 0 && templates.at(-1) === depth) {
      templates.pop();
      i = skipTemplate(source, i, templates, depth);
    } else if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      if (end === -1) break;
      i = end;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        ranges.push([argStart, i]);
        return ranges;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      ranges.push([argStart, i]);
      argStart = i + 1;
    }
  }
  return ranges;
}

function skipQuoted(source, at, quote) {
  for (let i = at + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === quote) return i;
  }
  return source.length;
}

/** From a backtick (or the `}` closing a `${`), to the closing backtick or the next `${`. */
function skipTemplate(source, at, templates, depth) {
  for (let i = at + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === '`') return i;
    else if (source[i] === '$' && source[i + 1] === '{') {
      templates.push(depth);
      return i + 1;
    }
  }
  return source.length;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const aimOf = (file) => {
  if (AIM_95.includes(file)) return 95;
  return file.startsWith('src/steps/') || MECHANISMS.includes(file) ? 90 : undefined;
};
const keyOf = (file, { location: { start, end }, mutatorName, replacement }) =>
  `${file}:${start.line}:${start.column}-${end.line}:${end.column} ${mutatorName} ${oneLine(replacement)}`;

/** Offsets of the starts of the lines of `source`. */
function lineStarts(source) {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1);
  return starts;
}

/** Whether `mutant` lies wholly inside a message argument (Stryker's lines and columns count from 1). */
function isMessageOnly(ranges, starts, mutant) {
  if (mutant.mutatorName !== 'StringLiteral') return false;
  const offset = ({ line, column }) => starts[line - 1] + column - 1;
  const from = offset(mutant.location.start);
  const to = offset(mutant.location.end);
  return ranges.some(([start, end]) => start <= from && to <= end);
}

export function summarize(report, equivalent) {
  const files = [];
  const stale = new Set(Object.keys(equivalent));
  for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const ranges = messageRanges(source);
    const starts = lineStarts(source);
    const row = {
      file,
      total: mutants.length,
      detected: 0,
      undetected: 0,
      message: [],
      static: 0,
      equivalent: [],
      survivors: [],
    };
    for (const mutant of mutants) {
      if (DETECTED.has(mutant.status)) row.detected++;
      if (mutant.status === 'Ignored') row.static++;
      if (!UNDETECTED.has(mutant.status)) continue;
      const key = keyOf(file, mutant);
      if (equivalent[key] !== undefined) {
        stale.delete(key);
        row.equivalent.push({ key, mutant, why: equivalent[key] });
      } else if (isMessageOnly(ranges, starts, mutant)) row.message.push({ key, mutant });
      else {
        row.undetected++;
        row.survivors.push({ key, mutant });
      }
    }
    const counted = row.detected + row.undetected;
    row.score = counted === 0 ? 100 : (100 * row.detected) / counted;
    row.floor = FLOORS[file];
    row.aim = aimOf(file);
    files.push(row);
  }
  return { files, stale: [...stale] };
}

function markdown({ files, stale }, report) {
  const pct = (n) => `${n.toFixed(1)} %`;
  const out = [
    '# Mutation testing of the core',
    '',
    'Written by `pnpm test:mutation` (Stryker 9.6.1, vitest runner, perTest coverage, over',
    '`packages/core/src`; see packages/core/README.md, "Mutation testing"). Don\'t edit by hand.',
    '',
    'Score: killed (a timeout counts as killed) / (killed + survived + not covered), leaving out',
    'message-only survivors (a string of an error message: tests assert codes) and the',
    'equivalent survivors, both listed below. Static mutants (module-level code such as the',
    "key-format regexes, run once at import) are not run by Stryker's perTest mode with",
    '`ignoreStatic`; their number is in the "static" column, and the unit tests pin those',
    'patterns directly. A run fails when a file falls below its floor.',
    '',
    '| file | mutants | static (not run) | killed | survived | message-only | equivalent | score | floor | aim |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const row of files) {
    out.push(
      `| ${row.file} | ${row.total} | ${row.static} | ${row.detected} | ${row.undetected} | ${row.message.length} | ${row.equivalent.length} | ${pct(row.score)} | ${row.floor === undefined ? '—' : pct(row.floor)} | ${row.aim === undefined ? '—' : `${row.aim} %`} |`,
    );
  }
  const all = files.reduce(
    (sum, row) => ({
      detected: sum.detected + row.detected,
      undetected: sum.undetected + row.undetected,
    }),
    { detected: 0, undetected: 0 },
  );
  out.push('', `All files: ${pct((100 * all.detected) / (all.detected + all.undetected))}.`, '');
  out.push(
    '## Survivors',
    '',
    'Each is a change to the code that no test notices: a test to write, or an equivalent to list.',
    '',
  );
  const byPlace = (a, b) =>
    a.mutant.location.start.line - b.mutant.location.start.line ||
    a.mutant.location.start.column - b.mutant.location.start.column ||
    a.mutant.mutatorName.localeCompare(b.mutant.mutatorName) ||
    String(a.mutant.replacement).localeCompare(String(b.mutant.replacement));
  for (const row of files) {
    row.survivors.sort(byPlace);
    row.equivalent.sort(byPlace);
    row.message.sort(byPlace);
    if (row.survivors.length === 0) continue;
    out.push(`### ${row.file}`, '');
    for (const { mutant } of row.survivors) {
      out.push(
        `- line ${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName}${mutant.status === 'NoCoverage' ? ' (no test runs it)' : ''}: \`${oneLine(mutant.replacement)}\``,
      );
    }
    out.push('');
  }
  out.push(
    '## Equivalent survivors',
    '',
    'No test can tell these from the original; each says why (packages/core/mutation-equivalent.json).',
    '',
  );
  for (const row of files) {
    for (const { key, why } of row.equivalent) out.push(`- \`${key}\`: ${why}`);
  }
  if (stale.length > 0) out.push('', `Stale entries (no such survivor now): ${stale.join(', ')}.`);
  out.push(
    '',
    '## Message-only survivors',
    '',
    'A string inside the message argument of an error call (MESSAGE_ARGUMENT in',
    'scripts/mutation-report.mjs) emptied or changed: only the wording of a message differs.',
    '',
  );
  for (const row of files) {
    if (row.message.length === 0) continue;
    out.push(
      `- ${row.file}: ${row.message.map(({ mutant: m }) => `${m.location.start.line}:${m.location.start.column}`).join(', ')}`,
    );
  }
  out.push('');
  void report;
  return out.join('\n');
}

const oneLine = (text) =>
  String(text ?? '')
    .replace(/\s+/g, ' ')
    .replaceAll('`', "'")
    .slice(0, 120);

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = JSON.parse(readFileSync(REPORT, 'utf8'));
  const equivalent = JSON.parse(readFileSync(EQUIVALENT, 'utf8'));
  const summary = summarize(report, equivalent);
  if (!process.argv.includes('--check')) writeFileSync(OUTPUT, markdown(summary, report));
  const below = summary.files.filter((row) => row.floor !== undefined && row.score < row.floor);
  for (const row of below) {
    console.error(
      `${row.file}: mutation score ${row.score.toFixed(1)} % is below its floor ${row.floor} %`,
    );
  }
  for (const row of summary.files) {
    console.log(
      `${row.file.padEnd(32)} ${row.score.toFixed(1).padStart(5)} %  (${row.undetected} survived)`,
    );
  }
  process.exit(below.length > 0 ? 1 : 0);
}
