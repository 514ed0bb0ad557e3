import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@orkesta/auth';
import { describe, expect, it, vi } from 'vitest';
import * as cliPackage from '../src/index.js';
import { tempDir } from './helpers.js';
import { BIN, COMMAND_PATHS, cli, ok } from './run-cli.js';

vi.setConfig({ testTimeout: 90_000 });

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  return readme.split(`\n## ${title}\n`)[1]!.split('\n## ')[0]!;
}

function blocks(language: string, text = readme): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (match) => match[1]!,
  );
}

/** The cells of a table's body rows, `\|` unescaped and code spans unwrapped. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !/^\| -/.test(line))
    .slice(1)
    .map((line) =>
      line
        .slice(2, -2)
        .split(/ (?<!\\)\| /)
        .map((cell) => cell.trim().replaceAll('\\|', '|')),
    );
}

const unquote = (cell: string) => cell.replace(/^`(.*)`$/, '$1');

/** The usage lines `--help` gives, without the options every command takes. */
function helpUsage(path: readonly string[]): string {
  const help = ok(cli([...path, '--help'])).stdout;
  return help
    .split('\n')[0]!
    .replace(/^Usage: /, '')
    .replace(/ \[--store SPEC\] \[--json\]$/, '');
}

const COMMANDS = COMMAND_PATHS;

describe('README', () => {
  it('the commands table is the commands --help lists, with the usage --help gives', () => {
    const rows = tableRows(section('Commands'));
    const top = ok(cli(['--help'])).stdout;
    const listed = [...top.matchAll(/^ {2}((?:keys \w+)|migrate) {2}/gm)].map((m) => m[1]);
    expect(listed).toEqual(COMMANDS.map((c) => c.join(' ')));
    expect(rows.map((row) => unquote(row[0]!))).toEqual(COMMANDS.map(helpUsage));
  });

  it('the options table is the options each command takes', () => {
    const documented = new Set<string>();
    for (const [option, commands] of tableRows(section('Options'))) {
      for (const command of commands!.split(', ')) {
        documented.add(`${command} ${unquote(option!)}`);
      }
    }
    const given = new Set<string>();
    for (const path of COMMANDS) {
      const help = ok(cli([...path, '--help'])).stdout;
      const options = help.split('\nOptions:\n')[1]!.split('\n\n')[0]!;
      for (const [, label] of options.matchAll(/^ {2}(-\S.*?)(?: {2,}|$)/gm)) {
        const global = ['--store SPEC', '--json', '-h, --help'].includes(label!);
        given.add(`${global ? 'all' : path.at(-1)} ${label}`);
      }
    }
    expect([...documented].sort()).toEqual([...given].sort());
  });

  it('the exit codes table is the one --help prints', () => {
    const rows = tableRows(section('Exit codes')).map(([code, meaning]) => `${code} ${meaning}`);
    for (const help of [ok(cli(['--help'])).stdout, ok(cli(['keys', 'list', '--help'])).stdout]) {
      const codes = help
        .split('\nExit codes:\n')[1]!
        .split('\n\n')[0]!
        .trim()
        .split(/\n {2}(?=\d {2})/)
        .map((entry) => entry.replace(/\s+/g, ' ').trim());
      expect(codes).toEqual(rows);
    }
    expect(cliPackage.EXIT_CODES.map(({ code, meaning }) => `${code} ${meaning}`)).toEqual(rows);
  });

  it('the example runs as written, each command with the exit code it is annotated with', () => {
    const [example] = blocks('sh', section('Example'));
    const cwd = tempDir();
    // Each line runs as written, with the built binary for `npx @orkesta/auth-cli` (the installed
    // package's bin is run by the consumer test); a line annotated `# exit N` must exit N, every
    // other one 0.
    const script = example!
      .trim()
      .split('\n')
      .map((line) => {
        const command = line.replaceAll('npx @orkesta/auth-cli', `node ${JSON.stringify(BIN)}`);
        const expected = /# exit (\d)\b/.exec(line)?.[1] ?? '0';
        return `${command.replace(/ # .*$/, '')}\nstatus=$?; if [ "$status" != ${expected} ]; then echo "exit $status, not ${expected}: ${line.replaceAll('"', '\\"').replaceAll('$', '\\$')}" >&2; exit 99; fi`;
      })
      .join('\n');
    const { INIT_CWD: _initCwd, ORKESTA_AUTH_STORE: _store, ...env } = process.env;
    const run = spawnSync('bash', ['-c', script], { cwd, env, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr.split('\n').filter((l) => l.startsWith('exit '))).toEqual([]);
    expect(run.status).toBe(0);
    // The file is where the example says, and holds what it made.
    const active = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('\n[') + 1)) as {
      name: string;
    }[];
    expect(active.map((k) => k.name).sort()).toEqual(['ci', 'production-erp-integration']);
    const listed = ok(
      cli(['keys', 'list', '--json', '--store', `sqlite:${join(cwd, '.orkesta', 'keys.db')}`]),
    );
    expect(JSON.parse(listed.stdout)).toHaveLength(3);
  });

  it('the sample outputs are what the commands print', () => {
    const [created, table] = blocks('text');
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    const make = ['keys', 'create', '--store', store, '--workspace', 'ws_1', '--scope'];
    const real = ok(
      cli([...make, 'read-write', '--name', 'production-erp-integration', '--ttl', '90d']),
    );
    const shape = (text: string) =>
      text
        .replace(/ork_live_[0-9A-Za-z_…]+/g, 'KEY')
        .replace(/\b[0-9A-Za-z]{12}\b/g, 'ID')
        .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/g, 'DATE');
    expect(shape(created!)).toBe(shape(real.stdout));
    ok(cli([...make, 'read-only', '--name', 'ci']));
    const listed = ok(cli(['keys', 'list', '--workspace', 'ws_1', '--store', store])).stdout;
    expect(listed.split('\n')[0]).toBe(table!.split('\n')[0]);
    expect(shape(table!).split('\n').slice(1)).toEqual(shape(listed).split('\n').slice(1));
  });

  it('the library example imports what the packages export, and runs', () => {
    const [code] = blocks('ts');
    const modules: Record<string, object> = {
      '@orkesta/auth': core,
      '@orkesta/auth-cli': cliPackage,
    };
    for (const [, names, from] of code!.matchAll(/^import \{([^}]+)\} from '([^']+)';$/gm)) {
      for (const name of names!.split(',').map((n) => n.trim())) {
        expect(Object.keys(modules[from!]!), `${name} from ${from}`).toContain(name);
      }
    }
    // Written into the package, so that `@orkesta/auth-cli` resolves to itself (the built entry).
    const file = fileURLToPath(new URL(`../readme-example-${process.pid}.mjs`, import.meta.url));
    writeFileSync(file, code!);
    try {
      const cwd = tempDir();
      const { INIT_CWD: _initCwd, ORKESTA_AUTH_STORE: _store, ...env } = process.env;
      const run = spawnSync(process.execPath, [file], { cwd, env, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(`sqlite:${join(cwd, '.orkesta', 'keys.db')}: 0 keys\n`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('the exports table names every export of the main entry', () => {
    const documented = tableRows(section('The store resolver, as a library')).map(
      (row) => /^`(\w+)/.exec(row[0]!)![1],
    );
    expect(documented.sort()).toEqual(Object.keys(cliPackage).sort());
  });
});

describe('the root README', () => {
  const root = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const cliSection = root.split('\n## The CLI\n')[1]!.split('\n## ')[0]!;

  it('its CLI example runs: create, list, then revoke what was created', () => {
    const [example] = blocks('sh', cliSection);
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    let id = '';
    for (const line of example!.trim().split('\n')) {
      const args = line
        .replace(/^pnpm orkesta-auth /, '')
        .split(' ')
        .map((word) => (word === 'KEY_ID' ? id : word));
      const run = ok(cli([...args, '--store', store]));
      if (args[1] === 'create') id = /API key (\w{12}) /.exec(run.stdout)![1]!;
      if (args[1] === 'list') expect(run.stdout).toContain(id);
    }
    const shown = JSON.parse(ok(cli(['keys', 'show', id, '--json', '--store', store])).stdout);
    expect(shown).toMatchObject({ workspaceId: 'ws_demo', status: 'revoked' });
  });

  it('names the exit codes the CLI has', () => {
    const sentence = /the exit code is ([^.]+)\./.exec(cliSection.replace(/\s+/g, ' '))![1]!;
    const named = [...sentence.matchAll(/\b(\d) (?:when|for)\b/g)].map((m) => Number(m[1]));
    expect(named).toEqual(cliPackage.EXIT_CODES.map((e) => e.code));
  });
});
