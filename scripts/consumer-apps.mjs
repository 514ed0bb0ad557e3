// The consumer test: what an application developer does with our packages, outside this
// workspace. The packed tarballs are installed with npm into fresh apps in the system's temp
// folder, with what each README's install lines name; each README's main example (its first
// `ts` block) is compiled with `tsc --strict`, as an ES module (verbatim) and as CommonJS
// (`.cts` under `module: nodenext`: the imports verbatim, the rest in an async function, as
// the READMEs say to do there), and run; the servers are called over HTTP with the key they
// print. Nest runs on 11 and on 12. Used by check-packages.mjs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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
 * The version ranges npm should take for the names READMEs install (ours come from the
 * tarballs instead): as our packages declare them, a peer first, then a dependency, then a
 * dev dependency, so that the test installs what we say we support rather than a next major.
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

/**
 * Node running `file` in `cwd`: its output collected, `ended` resolving with `[code, signal]`
 * once it has exited and its output is read to the end (or with the error it could not start
 * with), and `stop()` ending it: SIGTERM, then SIGKILL if it is still there after 5 s.
 */
function start(file, cwd, env = {}) {
  const child = spawn(process.execPath, [file], { cwd, env: appEnv(env) });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => {
    output.stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output.stderr += chunk;
  });
  const ended = new Promise((resolve) => {
    child.on('error', (error) => resolve([null, null, error]));
    child.on('close', (code, signal) => resolve([code, signal]));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    // Past SIGKILL, only a pipe held open elsewhere could keep `ended` waiting: bounded too.
    let giveUp;
    const stuck = new Promise((resolve) => {
      giveUp = setTimeout(() => resolve('stuck'), 10_000);
    });
    const how = await Promise.race([ended, stuck]);
    clearTimeout(killer);
    clearTimeout(giveUp);
    if (how === 'stuck') throw new Error(`${file} did not end 10 s after SIGTERM`);
  };
  return { child, output, ended, stop };
}

/** Runs `file` to its end; rejects on a failure to start, a non-zero exit, or a hang of 30 s. */
async function runToEnd(file, cwd, env = {}) {
  const run = start(file, cwd, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
  const [code, signal, error] = await run.ended;
  clearTimeout(timer);
  if (error !== undefined) throw new Error(`${file} did not start: ${error.message}`);
  if (code !== 0) {
    const how =
      signal === 'SIGKILL' ? 'killed after 30 s (it did not end)' : `exit ${code ?? signal}`;
    throw new Error(`${file}: ${how}\n${run.output.stderr}`);
  }
  return run.output.stdout;
}

/** Starts a server example, waits for the line it prints with the key, calls it, stops it. */
async function runServer(file, cwd, check) {
  await portIsFree();
  const run = start(file, cwd);
  let timer;
  try {
    const key = await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${file}: no curl line in 30 s`)), 30_000);
      run.child.stdout.on('data', () => {
        const found = /Bearer (ork_live_\w+)/.exec(run.output.stdout);
        if (found) resolve(found[1]);
      });
      run.ended.then(([code, signal, error]) =>
        reject(new Error(`${file} ended before listening: ${error?.message ?? code ?? signal}`)),
      );
    });
    await check(key);
  } catch (error) {
    throw new Error(`${error.message}\n${run.output.stderr}`);
  } finally {
    clearTimeout(timer);
    await run.stop();
  }
}

/** The examples listen on the port they name: nothing else may hold it. */
async function portIsFree() {
  const server = createServer();
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(PORT, resolve);
    });
  } catch (error) {
    throw new Error(
      `port ${PORT}, which the README examples listen on, cannot be had: ${error.code}`,
    );
  }
  await new Promise((resolve) => server.close(resolve));
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

/**
 * The Express and Fastify READMEs' example: `/health` public, `POST /v1/payments` answering 201
 * with the key's workspace, and refusing no key and a wrong key.
 */
async function expectPaymentsExample(what, key) {
  expectEqual((await call('/health')).status, 200, `${what}: /health without a key`);
  const created = await call('/v1/payments', { method: 'POST', key });
  expectEqual([created.status, created.body], [201, { workspace: 'ws_1' }], `${what}: POST`);
  expectMissingKey(await call('/v1/payments', { method: 'POST' }), what);
  const wrong = await call('/v1/payments', { method: 'POST', key: `${key.slice(0, -1)}x` });
  expectEqual(wrong.status, 401, `${what}: a wrong key`);
}

/** What each example must do when run: its checks, given the compiled file and its folder. */
const RUNS = {
  core: async (file, cwd) => expectEqual(await runToEnd(file, cwd), 'ws_1\n', 'core: output'),
  express: async (file, cwd) => {
    await runServer(file, cwd, (key) => expectPaymentsExample('express', key));
    // The README's listen callback throws what Express 5 hands it: a taken port ends the
    // process with EADDRINUSE, and no curl line is printed.
    const holder = createServer();
    await new Promise((resolve) => holder.listen(PORT, resolve));
    const run = start(file, cwd);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
    try {
      const [code] = await run.ended;
      expectEqual(
        code !== 0 && /EADDRINUSE/.test(run.output.stderr),
        true,
        'express: a taken port ends it',
      );
      expectEqual(
        run.output.stdout.includes('Bearer'),
        false,
        'express: no curl line for a taken port',
      );
    } finally {
      clearTimeout(timer);
      await new Promise((resolve) => holder.close(resolve));
    }
  },
  koa: (file, cwd) =>
    runServer(file, cwd, async (key) => {
      const admitted = await call('/', { key });
      expectEqual([admitted.status, admitted.body], [200, { workspace: 'ws_1' }], 'koa: GET');
      expectMissingKey(await call('/'), 'koa');
    }),
  fastify: (file, cwd) => runServer(file, cwd, (key) => expectPaymentsExample('fastify', key)),
  opentelemetry: async (file, cwd) =>
    expectEqual(
      await runToEnd(file, cwd),
      [
        'refused: invalid_api_key',
        'orkesta.auth.authentications {"orkesta.auth.outcome":"authenticated","orkesta.auth.key.scope":"read-write","orkesta.auth.key.environment":"live"} 1',
        'orkesta.auth.authentications {"orkesta.auth.outcome":"invalid_api_key"} 1',
        'orkesta.auth.store.lookup.duration {"orkesta.auth.lookup.result":"found"} 1',
        '',
      ].join('\n'),
      'opentelemetry: output',
    ),
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
    postgres(cwd, `CREATE DATABASE ${database}`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${database}`;
    let out;
    try {
      out = await runToEnd(file, cwd, { DATABASE_URL: url.href });
    } finally {
      try {
        postgres(cwd, `DROP DATABASE ${database} WITH (FORCE)`);
      } catch (error) {
        console.log(`  (left database ${database} behind: ${error.message})`);
      }
    }
    expectEqual(out, 'ws_1\napi_key_revoked\n', 'store-postgres: output');
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

/**
 * The CLI README's example, line by line as written (`npx @orkesta/auth-cli …` runs the installed
 * bin): a line annotated `# exit N` must exit N, every other one 0.
 */
function runCliExample(cwd) {
  const text = readme('cli');
  const example = /## Example\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(text)?.[1];
  if (example === undefined) throw new Error('packages/cli/README.md has no Example sh block');
  const script = example
    .trim()
    .split('\n')
    .map((line) => {
      const expected = /# exit (\d)\b/.exec(line)?.[1] ?? '0';
      const shown = line.replaceAll("'", "'\\''");
      return `${line.replace(/ # .*$/, '')}\nstatus=$?; [ "$status" = ${expected} ] || { echo 'exit '"$status"', not ${expected}: ${shown}' >&2; exit 99; }`;
    })
    .join('\n');
  // `timeout` signals the whole process group: npx and node below bash end with it.
  // npm_config_yes=false: npx must find the installed package, never fetch one.
  const run = spawnSync('timeout', ['--kill-after=5', '120', 'bash', '-c', script], {
    cwd,
    env: appEnv({ npm_config_yes: 'false' }),
    encoding: 'utf8',
  });
  if (run.error !== undefined)
    throw new Error(`could not run timeout(1) and bash: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(`the CLI README example failed (${run.status ?? run.signal}):\n${run.stderr}`);
  }
}

/**
 * One SQL statement on the test server, through the app's own installed `pg`. The URL goes
 * by environment, never on a command line (an error repeats that, password and all).
 */
function postgres(cwd, sql) {
  const script = `const { Client } = require('pg');
    (async () => {
      const c = new Client({ connectionString: process.env.URL, connectionTimeoutMillis: 10000 });
      try { await c.connect(); await c.query(process.env.SQL); } finally { await c.end(); }
    })().catch((e) => { console.error(e.code ?? 'error', e.message); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd,
    env: { ...process.env, URL: POSTGRES_URL, SQL: sql },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const what = sql.split(' ').slice(0, 2).join(' ');
  if (run.error !== undefined) throw new Error(`${what}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${what} failed: ${(run.stderr ?? '').trim()}`);
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
      // Each README's install lines are enough for its own example (the apps share one
      // node_modules, which would hide a package only another README names).
      for (const [, specifier] of mainExample(dir).matchAll(
        /^import\b[^;]*?from '([^'.][^']*)';/gms,
      )) {
        const name = specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/');
        if (!specifier.startsWith('node:') && !lines.runtime.includes(name)) {
          throw new Error(
            `packages/${dir}/README.md: its example imports ${name}, which no npm install line there names`,
          );
        }
      }
      // Node's globals (process, Buffer) take @types/node, which TypeScript users install.
      if (/\b(process|Buffer)\./.test(mainExample(dir)) && !lines.dev.includes('@types/node')) {
        throw new Error(
          `packages/${dir}/README.md: its example uses Node's globals, and no npm install -D line there names @types/node`,
        );
      }
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
    if (dirs.includes('cli')) {
      const folder = join(cwd, 'run', 'cli-command');
      mkdirSync(folder, { recursive: true });
      runCliExample(folder);
      log('ran the CLI README example (npx @orkesta/auth-cli), each line with its exit code');
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
