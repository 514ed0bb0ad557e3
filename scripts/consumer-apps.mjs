// The consumer test: what an application developer does with our packages, outside this
// workspace. The packed tarballs are installed with npm into fresh apps in the system's temp
// folder, with what each README's install lines name; each README's main example (its first
// `ts` block) is compiled with `tsc --strict`, as an ES module (verbatim) and as CommonJS
// (`.cts` under `module: nodenext`: the imports verbatim, the rest in an async function, as
// the READMEs say to do there), and run; the servers are called over HTTP with the key they
// print. Nest runs on 11 and on 12. Used by check-packages.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const POSTGRES_URL =
  process.env.ORKESTA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.ORKESTA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The examples listen on the port they name. */
const PORT = 3000;

const readme = (dir) => readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
const manifest = (dir) =>
  JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));

/** The first `ts` block of a README: its main example. */
function mainExample(dir) {
  const match = /```ts\n([\s\S]*?)```/.exec(readme(dir));
  if (match === null) throw new Error(`packages/${dir}/README.md has no ts example`);
  return match[1];
}

/** The packages the README's `npm install` lines name: `{ runtime: [...], dev: [...] }`. */
function installLines(dir) {
  const runtime = [];
  const dev = [];
  for (const [, flag, names] of readme(dir).matchAll(/^npm install( -D)? ([^#\n]+)/gm)) {
    (flag ? dev : runtime).push(...names.trim().split(/\s+/));
  }
  return { runtime, dev };
}

/**
 * The version range npm should take for a name a README installs: ours from the tarball, the
 * others as our packages declare them (a peer or a dependency), so that the test installs
 * what we say we support rather than a next major.
 */
function ranges(dirs) {
  const found = new Map();
  for (const field of ['peerDependencies', 'dependencies', 'devDependencies']) {
    for (const dir of dirs) {
      for (const [name, range] of Object.entries(manifest(dir)[field] ?? {})) {
        if (!range.startsWith('workspace:') && !range.startsWith('npm:') && !found.has(name)) {
          found.set(name, range);
        }
      }
    }
  }
  return found;
}

/** The example as CommonJS: the import lines as written, the rest in an async function. */
function asCommonJs(source) {
  const lines = source.split('\n');
  let end = 0;
  let inImport = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (inImport) {
      if (/from '[^']+';$/.test(line)) inImport = false;
      end = i + 1;
    } else if (/^import /.test(line)) {
      inImport = !/from '[^']+';$|^import '[^']+';$/.test(line);
      end = i + 1;
    } else if (line.trim() !== '') break;
  }
  const body = lines.slice(end).join('\n');
  return `${lines.slice(0, end).join('\n')}\n\nasync function main(): Promise<void> {\n${body}\n}\n\nmain().catch((error: unknown) => {\n  console.error(error);\n  process.exit(1);\n});\n`;
}

function npm(args, cwd) {
  execFileSync('npm', args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    // better-sqlite3 compiles from source on these machines (see TOOLCHAIN.md).
    env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' },
  });
}

/**
 * The environment an app runs in: this one without what pnpm sets for the workspace's scripts
 * (`INIT_CWD` would send the CLI's relative paths to the repository) or our store variable.
 */
function appEnv(extra = {}) {
  const {
    INIT_CWD: _cwd,
    ORKESTA_AUTH_STORE: _store,
    ORKESTA_AUTH_REDIS: _redis,
    ...env
  } = process.env;
  return { ...env, ...extra };
}

/** Runs `file` with node in `cwd` to its end; rejects on a non-zero exit or after 30 s. */
async function runToEnd(file, cwd, env = {}) {
  const child = spawn(process.execPath, [file], { cwd, env: appEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(
      `${file} ended with ${signal ?? `exit ${code}`} (a hang is killed after 30 s)\n${stderr}`,
    );
  }
  return stdout;
}

/** Starts a server example, waits for the line it prints with the key, calls it, stops it. */
async function runServer(file, cwd, check) {
  const child = spawn(process.execPath, [file], { cwd, env: appEnv() });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit');
  try {
    const key = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${file}: no curl line in 30 s\n${stderr}`)),
        30_000,
      );
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const found = /Bearer (ork_live_\w+)/.exec(stdout);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      exited.then(([code]) =>
        reject(new Error(`${file} exited (${code}) before listening\n${stderr}`)),
      );
    });
    await check(key);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function call(path, { method = 'GET', key } = {}) {
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** A 401 with the challenge and the problem body the contract gives a request without a key. */
function expectMissingKey(response, what) {
  expectEqual(response.status, 401, `${what}: status without a key`);
  expectEqual(response.body?.code, 'missing_api_key', `${what}: code without a key`);
  expectEqual(
    response.headers.get('www-authenticate')?.startsWith('Bearer'),
    true,
    `${what}: challenge`,
  );
}

/** What each example must do when run: its checks, given the compiled file and its folder. */
const RUNS = {
  core: async (file, cwd) => expectEqual(await runToEnd(file, cwd), 'ws_1\n', 'core: output'),
  express: (file, cwd) =>
    runServer(file, cwd, async (key) => {
      expectEqual((await call('/health')).status, 200, 'express: /health without a key');
      const created = await call('/v1/payments', { method: 'POST', key });
      expectEqual([created.status, created.body], [201, { workspace: 'ws_1' }], 'express: POST');
      expectMissingKey(await call('/v1/payments', { method: 'POST' }), 'express');
      const wrong = await call('/v1/payments', { method: 'POST', key: `${key.slice(0, -1)}x` });
      expectEqual(wrong.status, 401, 'express: a wrong key');
    }),
  koa: (file, cwd) =>
    runServer(file, cwd, async (key) => {
      const admitted = await call('/', { key });
      expectEqual([admitted.status, admitted.body], [200, { workspace: 'ws_1' }], 'koa: GET');
      expectMissingKey(await call('/'), 'koa');
    }),
  nest: (file, cwd) =>
    runServer(file, cwd, async (key) => {
      const listed = await call('/v1/payments', { key });
      expectEqual([listed.status, listed.body], [200, { workspace: 'ws_1' }], 'nest: GET');
      const created = await call('/v1/payments', { method: 'POST', key });
      expectEqual([created.status, created.body], [201, { created: true }], 'nest: POST');
      expectEqual((await call('/v1/payments/health')).status, 200, 'nest: @Public() without a key');
      expectMissingKey(await call('/v1/payments'), 'nest');
    }),
  redis: async (file, cwd) =>
    expectEqual(
      await runToEnd(file, cwd, { REDIS_URL }),
      'ws_1\napi_key_revoked\n',
      'redis: output',
    ),
  'store-sqlite': async (file, cwd) =>
    expectEqual(await runToEnd(file, cwd), 'ws_1\napi_key_revoked\n', 'store-sqlite: output'),
  'store-postgres': async (file, cwd) => {
    const database = `orkesta_consumer_${process.pid}_${Date.now()}`;
    await postgres(cwd, `CREATE DATABASE ${database}`);
    try {
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${database}`;
      const out = await runToEnd(file, cwd, { DATABASE_URL: url.href });
      expectEqual(out, 'ws_1\napi_key_revoked\n', 'store-postgres: output');
    } finally {
      await postgres(cwd, `DROP DATABASE ${database} WITH (FORCE)`);
    }
  },
  cli: async (file, cwd) => {
    const out = await runToEnd(file, cwd);
    expectEqual(
      out,
      `sqlite:${join(cwd, '.orkesta', 'keys.db')}: 0 keys\n`,
      'cli: library example',
    );
  },
};

/** One SQL statement on the test server, through the app's own installed `pg`. */
async function postgres(cwd, sql) {
  const script = `const { Client } = require('pg'); const c = new Client({ connectionString: ${JSON.stringify(POSTGRES_URL)} });
    c.connect().then(() => c.query(${JSON.stringify(sql)})).finally(() => c.end());`;
  execFileSync(process.execPath, ['-e', script], { cwd, stdio: 'pipe' });
}

/**
 * An app in a fresh temp folder: npm installs `tarballs` (ours) and what the READMEs of `dirs`
 * name, then every example of `dirs` is compiled both ways and run both ways.
 */
async function consumerApp({ name, dirs, tarballs, versions = {} }) {
  const cwd = mkdtempSync(join(tmpdir(), `orkesta-consumer-${name}-`));
  const log = (line) => console.log(`  [${name}] ${line}`);
  try {
    const range = ranges(dirs);
    // The compiler and Node's types as this repository builds with them.
    const pinned = new Map([
      ['typescript', rootDevVersion('typescript')],
      ['@types/node', rootDevVersion('@types/node')],
      ...Object.entries(versions),
    ]);
    const spec = (pkg) => {
      if (tarballs.has(pkg)) return tarballs.get(pkg).file;
      const wanted = pinned.get(pkg) ?? range.get(pkg);
      return wanted === undefined ? pkg : `${pkg}@${wanted}`;
    };
    const runtime = new Map();
    const dev = new Map([
      ['typescript', spec('typescript')],
      ['@types/node', spec('@types/node')],
    ]);
    for (const dir of dirs) {
      const lines = installLines(dir);
      if (lines.runtime.length === 0)
        throw new Error(`packages/${dir}/README.md has no npm install line`);
      for (const pkg of lines.runtime) runtime.set(pkg, spec(pkg));
      for (const pkg of lines.dev) dev.set(pkg, spec(pkg));
    }
    // Our packages depend on each other by version; the registry has none of these versions,
    // so the tarballs of those dependencies go in too (npm then takes them for the ranges).
    for (const pkg of [...runtime.keys()]) {
      for (const needed of ourDependencies(pkg, tarballs)) runtime.set(needed, spec(needed));
    }
    writeFileSync(
      join(cwd, 'package.json'),
      `${JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }, null, 2)}\n`,
    );
    log(`npm install ${[...runtime.keys()].join(' ')}; -D ${[...dev.keys()].join(' ')}`);
    npm(['install', '--no-audit', '--no-fund', '--loglevel=error', ...runtime.values()], cwd);
    npm(['install', '-D', '--no-audit', '--no-fund', '--loglevel=error', ...dev.values()], cwd);

    mkdirSync(join(cwd, 'src'));
    for (const dir of dirs) {
      const source = mainExample(dir);
      writeFileSync(join(cwd, 'src', `${dir}.ts`), source);
      writeFileSync(join(cwd, 'src', `${dir}.cts`), asCommonJs(source));
    }
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        types: ['node'],
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src'],
    };
    writeFileSync(join(cwd, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    const errors = compile(cwd);
    // Declarations of other packages are checked too (no skipLibCheck: ours must pass that),
    // but a fault inside one is its authors' (today @types/koa against content-disposition's
    // own types): shown, not ours to fail on.
    const theirs = errors.filter((line) => /^node_modules\/(?!@orkesta\/)/.test(line));
    const ours = errors.filter((line) => !theirs.includes(line));
    for (const line of theirs) log(`not ours: ${line}`);
    if (ours.length > 0) throw new Error(`tsc --strict failed:\n${ours.join('\n')}`);
    log(`compiled ${dirs.length} examples as ES modules and as CommonJS (tsc --strict)`);
    for (const dir of dirs) {
      for (const ext of ['js', 'cjs']) {
        const folder = join(cwd, 'run', `${dir}-${ext}`);
        mkdirSync(folder, { recursive: true });
        await RUNS[dir](join(cwd, 'dist', `${dir}.${ext}`), folder);
        log(`ran ${dir}.${ext}`);
      }
    }
  } finally {
    if (process.env.ORKESTA_CONSUMER_KEEP === '1') log(`kept ${cwd}`);
    else rmSync(cwd, { recursive: true, force: true });
  }
}

/** The names of our packages `pkg` depends on, directly or not. */
function ourDependencies(pkg, tarballs, seen = new Set()) {
  const entry = tarballs.get(pkg);
  if (entry === undefined) return seen;
  for (const name of Object.keys(manifest(entry.dir).dependencies ?? {})) {
    if (tarballs.has(name) && !seen.has(name)) {
      seen.add(name);
      ourDependencies(name, tarballs, seen);
    }
  }
  return seen;
}

/** The error lines of `tsc -p .` in `cwd` (it emits all the same); `[]` when it compiles clean. */
function compile(cwd) {
  try {
    const tsc = join(cwd, 'node_modules', '.bin', 'tsc');
    execFileSync(tsc, ['-p', '.'], { cwd, stdio: 'pipe', encoding: 'utf8' });
    return [];
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) throw error;
    return lines;
  }
}

function rootDevVersion(name) {
  const m = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return m.devDependencies[name];
}

/**
 * Every README's main example from the packed `tarballs` (`Map` of package name →
 * `{ dir, file }`), on the newest supported Nest, and again the Nest one on Nest 11. Throws on
 * the first fault.
 */
export async function runConsumerApps(tarballs) {
  const dirs = [...tarballs.values()].map(({ dir }) => dir);
  await consumerApp({ name: 'all', dirs, tarballs });
  await consumerApp({
    name: 'nest11',
    dirs: ['nest'],
    tarballs,
    versions: {
      '@nestjs/common': '^11.0.0',
      '@nestjs/core': '^11.0.0',
      '@nestjs/platform-express': '^11.0.0',
    },
  });
}
