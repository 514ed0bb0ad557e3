#!/usr/bin/env node
// The API report: every name each published entry point exports, with its declaration as the
// built `.d.ts` gives it (comments left out), one file per package (`packages/*/api-report.md`).
// Checked in, so that every change to the public surface shows in review; test/api-report.test.ts
// fails when a report is out of date.
//
//   node scripts/api-report.mjs           prints which reports differ (exit 1 if any)
//   node scripts/api-report.mjs --write   rewrites them (pnpm api:report builds first)
//
// It reads what `tsc -b` wrote, so build first. An `export *` is refused: every entry point
// says what it exports, name by name.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The published packages of the workspace, with the entry points their `exports` name. */
export function publishedPackages() {
  const packages = [];
  for (const folder of readdirSync(join(root, 'packages')).sort()) {
    const manifestPath = join(root, 'packages', folder, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private) continue;
    const entries = [];
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target !== 'object' || target.types === undefined) continue;
      entries.push({ subpath, types: join(root, 'packages', folder, target.types) });
    }
    packages.push({ folder, name: manifest.name, entries });
  }
  return packages;
}

/** The text without comments (the declarations alone decide the surface). */
function withoutComments(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/\n\s*\n+/g, '\n');
}

/** Top-level statements of a `.d.ts`: split where a line at depth 0 ends one. */
function statements(text) {
  const out = [];
  let depth = 0;
  let current = '';
  for (const line of withoutComments(text).split('\n')) {
    if (line.trim() === '') continue;
    current += `${line}\n`;
    for (const char of line) {
      if (char === '{' || char === '(' || char === '[') depth++;
      else if (char === '}' || char === ')' || char === ']') depth--;
    }
    if (depth === 0 && /[;}]\s*$/.test(line)) {
      out.push(current.trimEnd());
      current = '';
    }
  }
  if (current.trim() !== '') out.push(current.trimEnd());
  return out;
}

const DECLARATION =
  /^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(class|function|const|let|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/;
const RE_EXPORT = /^export\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';$/s;
const LOCAL_EXPORT = /^export\s+(type\s+)?\{([^}]*)\};$/s;

/** The names a statement list declares, each with its declaration texts (overloads too). */
function declarations(list) {
  const found = new Map();
  for (const statement of list) {
    const match = DECLARATION.exec(statement);
    if (match === null) continue;
    const [, kind, name] = match;
    if (!found.has(name)) found.set(name, { kind, texts: [] });
    found.get(name).texts.push(statement.replace(/^export\s+/, '').replace(/^declare\s+/, ''));
  }
  return found;
}

function parseNames(list) {
  return list
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [imported, exported = imported] = part.replace(/^type\s+/, '').split(/\s+as\s+/);
      return { imported, exported, typeOnly: part.startsWith('type ') };
    });
}

/**
 * What `file` exports: name → { kind, texts } for a declaration, or { from } for a name another
 * package (or a dependency) provides.
 */
const parsed = new Map();

function exportsOf(file) {
  const known = parsed.get(file);
  if (known !== undefined) return known;
  const result = new Map();
  parsed.set(file, result);
  const list = statements(readFileSync(file, 'utf8'));
  const local = declarations(list);
  const imports = new Map();
  for (const statement of list) {
    const match = /^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';$/s.exec(statement);
    if (match === null) continue;
    for (const { imported, exported } of parseNames(match[1])) {
      imports.set(exported, { imported, from: match[2] });
    }
  }
  for (const statement of list) {
    if (/^export\s+\*/.test(statement)) {
      throw new Error(`${relative(root, file)}: "export *" hides what an entry point exports`);
    }
    let match = RE_EXPORT.exec(statement);
    if (match !== null) {
      const [, typeOnly, names, from] = match;
      const target = from.startsWith('.')
        ? resolve(dirname(file), from.replace(/\.js$/, '.d.ts'))
        : undefined;
      const theirs = target === undefined ? undefined : exportsOf(target);
      for (const { imported, exported } of parseNames(names)) {
        const entry = theirs === undefined ? { from } : theirs.get(imported);
        if (entry === undefined) {
          throw new Error(`${relative(root, file)}: ${imported} is not exported by ${from}`);
        }
        result.set(exported, { ...entry, typeOnly: Boolean(typeOnly) || entry.typeOnly });
      }
      continue;
    }
    match = LOCAL_EXPORT.exec(statement);
    if (match !== null) {
      for (const { imported, exported } of parseNames(match[2])) {
        const declared = local.get(imported);
        const image = imports.get(imported);
        result.set(
          exported,
          declared ?? (image !== undefined ? { from: image.from } : { from: '(unknown)' }),
        );
      }
      continue;
    }
    const declared = DECLARATION.exec(statement);
    if (declared !== null && /^export\s/.test(statement)) {
      result.set(declared[2], local.get(declared[2]));
    }
  }
  return result;
}

/** The report of one package, as markdown. */
export function reportOf(pkg) {
  const lines = [
    `# API report: ${pkg.name}`,
    '',
    'Generated by `pnpm api:report` from the built declarations; do not edit by hand.',
    'test/api-report.test.ts fails when it no longer matches the code.',
  ];
  for (const entry of pkg.entries) {
    const specifier = entry.subpath === '.' ? pkg.name : `${pkg.name}/${entry.subpath.slice(2)}`;
    const names = [...exportsOf(entry.types)].sort(([a], [b]) => a.localeCompare(b, 'en'));
    lines.push('', `## \`${specifier}\``, '', `${names.length} names.`);
    for (const [name, entryOf] of names) {
      if (entryOf.from !== undefined) {
        lines.push('', `### \`${name}\``, '', `Re-exported from \`${entryOf.from}\`.`);
        continue;
      }
      lines.push('', `### \`${name}\` (${entryOf.kind})`, '', '```ts', ...entryOf.texts, '```');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The exported names of every entry point, for README checks: specifier → names. */
export function exportedNames() {
  const names = new Map();
  for (const pkg of publishedPackages()) {
    for (const entry of pkg.entries) {
      const specifier = entry.subpath === '.' ? pkg.name : `${pkg.name}/${entry.subpath.slice(2)}`;
      names.set(specifier, [...exportsOf(entry.types).keys()].sort());
    }
  }
  return names;
}

/** Where each package's report lives. */
export function reportPath(pkg) {
  return join(root, 'packages', pkg.folder, 'api-report.md');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.includes('--write');
  let stale = 0;
  for (const pkg of publishedPackages()) {
    const report = reportOf(pkg);
    const path = reportPath(pkg);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (current === report) continue;
    if (write) {
      writeFileSync(path, report);
      console.log(`wrote ${relative(root, path)}`);
    } else {
      stale++;
      console.log(`${relative(root, path)} is out of date: run pnpm api:report`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
