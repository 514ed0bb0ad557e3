import cluster, { type Worker } from 'node:cluster';
import { createKeyManager } from '@orkesta/auth';
import { openKeyStore, REDIS_ENV, redisLabel, STORE_ENV } from '@orkesta/auth-cli';
import type { DemoSettings, RunDemoOptions, RunningDemo } from './demo.js';
import {
  banner,
  DemoConfigurationError,
  demoSettings,
  fail,
  firstStart,
  httpUrl,
  openAndServe,
  stopOnSignals,
} from './demo.js';

/** `WORKERS` when it is not set. */
export const DEFAULT_WORKERS = 2;
/** The most `WORKERS` may ask for. */
export const MAX_WORKERS = 64;

/** `WORKERS` (default 2), checked: a whole number from 1 to 64. */
export function workerCount(env: NodeJS.ProcessEnv): number {
  const raw = env.WORKERS;
  if (raw === undefined || raw === '') return DEFAULT_WORKERS;
  const count = Number(raw);
  if (!/^\d+$/.test(raw) || count < 1 || count > MAX_WORKERS) {
    throw new DemoConfigurationError(
      `WORKERS must be a whole number from 1 to ${MAX_WORKERS}, got ${JSON.stringify(raw)}`,
    );
  }
  return count;
}

/**
 * What the cluster needs of the variables: a key store every worker shares (PostgreSQL, or a
 * SQLite file on this host; both have a change feed between processes) and Redis for the rate
 * limits, which would otherwise be kept per worker and admit N times the limit.
 */
export function clusterSettings(env: NodeJS.ProcessEnv): DemoSettings & { workers: number } {
  const settings = demoSettings(env);
  const workers = workerCount(env);
  if (settings.redisUrl === undefined) {
    throw new DemoConfigurationError(
      `the cluster needs ${REDIS_ENV}=redis://HOST:PORT: rate limits kept in each worker would admit ${workers} times the limit`,
    );
  }
  return { ...settings, workers };
}

/** How many replacements of workers that died are started within a minute before giving up. */
export const MAX_RESTARTS_PER_MINUTE = 5;

/** What a worker that cannot start tells the primary before it exits. */
interface WorkerFailure {
  readonly orkestaDemoFailed: string;
}

function isWorkerFailure(message: unknown): message is WorkerFailure {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { orkestaDemoFailed?: unknown }).orkestaDemoFailed === 'string'
  );
}

/**
 * `pnpm start:cluster`: the demo as `WORKERS` processes (node:cluster) serving one port. The
 * primary checks the variables, starts the workers, and once all of them listen, mints the
 * first keys (once, not per worker) and prints the banner. A worker that cannot start (the port
 * in use, the store or Redis away) stops the cluster with its one line and exit status 1; a
 * worker that dies later is replaced, at most 5 times a minute. SIGINT or SIGTERM, even during
 * the start, stops every worker, then the primary exits 0. Each response carries the pid of the
 * worker that answered, in `X-Demo-Worker`.
 */
export async function runDemoCluster(options: RunDemoOptions): Promise<void> {
  const env = options.env ?? process.env;
  if (cluster.isPrimary) return runPrimary(options, env);
  return runWorker(options, env);
}

async function runPrimary(options: RunDemoOptions, env: NodeJS.ProcessEnv): Promise<void> {
  let settings: ReturnType<typeof clusterSettings>;
  try {
    settings = clusterSettings(env);
  } catch (error) {
    return fail(2, error);
  }
  const workers = new Set<Worker>();
  let stopping = false;
  let started = false;
  const restarts: number[] = [];
  let startFailed: (error: Error) => void = () => {};
  const failedStart = new Promise<never>((_, reject) => {
    startFailed = reject;
  });
  failedStart.catch(() => {}); // awaited below while starting; later, nobody needs it

  const stopAll = (): Promise<void> =>
    new Promise((resolve) => {
      stopping = true;
      if (workers.size === 0) return resolve();
      cluster.on('exit', () => {
        if (workers.size === 0) resolve();
      });
      for (const worker of workers) worker.process.kill('SIGTERM');
    });
  const giveUp = (line: string) => {
    if (stopping) return;
    console.error(`demo: ${line}; stopping the cluster`);
    void stopAll().then(() => process.exit(1));
  };
  // From the start: a Ctrl+C while the workers start stops them, and nothing is minted.
  stopOnSignals(stopAll, 'stopping the workers.');

  const fork = (): Worker => {
    const worker = cluster.fork(options.env === undefined ? undefined : env);
    workers.add(worker);
    let listened = false;
    let reason: string | undefined;
    worker.on('message', (message: unknown) => {
      if (isWorkerFailure(message)) reason = message.orkestaDemoFailed;
    });
    worker.once('listening', () => {
      listened = true;
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      const how = signal ?? `exit ${code}`;
      if (!listened) {
        const line = reason ?? `a worker could not start (${how})`;
        if (started) giveUp(line);
        else startFailed(new Error(line));
        return;
      }
      if (!started) {
        startFailed(
          new Error(`worker ${worker.process.pid} stopped while the others started (${how})`),
        );
        return;
      }
      const now = Date.now();
      while (restarts.length > 0 && restarts[0]! <= now - 60_000) restarts.shift();
      if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
        giveUp(
          `workers keep stopping (${restarts.length} replaced in the last minute; the last: ${how})`,
        );
        return;
      }
      restarts.push(now);
      console.error(`demo: worker ${worker.process.pid} stopped (${how}); starting another`);
      fork();
    });
    return worker;
  };

  try {
    const listening = Array.from(
      { length: settings.workers },
      () =>
        new Promise<number>((resolve) => {
          fork().once('listening', (address) => resolve(address.port));
        }),
    );
    const [port] = await Promise.race([Promise.all(listening), failedStart]);
    started = true;
    if (stopping) return;
    // The first keys, once: workers never mint.
    const opened = await openKeyStore(settings.spec);
    try {
      const start = await firstStart(createKeyManager({ store: opened.store }));
      const lines = banner({
        framework: options.framework,
        url: httpUrl(settings.address.host, port!),
        store: opened.label,
        storeFromEnv: env[STORE_ENV] !== undefined && env[STORE_ENV] !== '',
        redis: redisLabel(settings.redisUrl!),
        workers: settings.workers,
        start,
      });
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await opened.close();
    }
  } catch (error) {
    await stopAll();
    return fail(1, error);
  }
}

async function runWorker(options: RunDemoOptions, env: NodeJS.ProcessEnv): Promise<void> {
  let running: RunningDemo;
  try {
    // The primary checked the variables already.
    running = await openAndServe(options, clusterSettings(env));
  } catch (error) {
    // The primary says it, once for the cluster.
    const failure: WorkerFailure = {
      orkestaDemoFailed: error instanceof Error ? error.message : String(error),
    };
    process.send?.(failure, () => process.exit(1));
    return;
  }
  const pid = String(process.pid);
  running.server.http?.prependListener('request', (_req, res) => {
    res.setHeader('X-Demo-Worker', pid);
  });
  // Quietly: the primary says what the cluster does.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
