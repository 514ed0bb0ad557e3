import cluster, { type Worker } from 'node:cluster';
import { createKeyManager } from '@orkesta/auth';
import { openKeyStore, REDIS_ENV, redisLabel, STORE_ENV } from 'orkesta-auth';
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

/**
 * `pnpm start:cluster`: the demo as `WORKERS` processes (node:cluster) serving one port. The
 * primary checks the variables, starts the workers, and once all of them listen, mints the
 * first keys (once, not per worker) and prints the banner. A worker that dies is replaced; one
 * that cannot start stops the cluster (exit 1). SIGINT or SIGTERM stops every worker, then the
 * primary exits 0.
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
  const stopAll = (): Promise<void> =>
    new Promise((resolve) => {
      stopping = true;
      if (workers.size === 0) return resolve();
      for (const worker of workers) worker.process.kill('SIGTERM');
      cluster.on('exit', () => {
        if (workers.size === 0) resolve();
      });
    });

  const fork = () => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      if (!started) return; // reported where the start is awaited
      console.error(
        `demo: worker ${worker.process.pid} stopped (${signal ?? `exit ${code}`}); starting another`,
      );
      fork();
    });
    return worker;
  };

  let url: string;
  try {
    const listening = Array.from({ length: settings.workers }, () => {
      const worker = fork();
      return new Promise<string>((resolve, reject) => {
        worker.once('listening', (address) => {
          resolve(httpUrl(settings.address.host, address.port));
        });
        worker.once('exit', (code) => {
          reject(new Error(`a worker could not start (exit ${code}); its error is above`));
        });
      });
    });
    [url] = (await Promise.all(listening)) as [string, ...string[]];
    started = true;
    // The first keys, once: workers never mint.
    const opened = await openKeyStore(settings.spec);
    try {
      const start = await firstStart(createKeyManager({ store: opened.store }));
      const lines = banner({
        framework: options.framework,
        url,
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
  stopOnSignals(stopAll, `stopping ${workers.size} workers.`);
}

async function runWorker(options: RunDemoOptions, env: NodeJS.ProcessEnv): Promise<void> {
  let running: RunningDemo;
  try {
    // The primary checked the variables already.
    running = await openAndServe(options, clusterSettings(env));
  } catch (error) {
    fail(1, error);
    process.exit();
  }
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
