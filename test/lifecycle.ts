import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyChangeFeed } from '@orkesta/auth';
import { createRedisChangeFeed } from '@orkesta/auth-redis';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach } from 'vitest';
import { POSTGRES_URL, REDIS_URL } from './services.js';

export type Cleanup = ReturnType<typeof useCleanup>;

/** Undo steps run after each test of the file that asked for them, the last one first. */
export function useCleanup(): { push(step: () => unknown): void } {
  const steps: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return { push: (step) => void steps.push(step) };
}

/** Polls `attempt` until it stops answering ok; the answer and how long it took. */
export async function refusal(attempt: () => Promise<string>, limitMs: number) {
  const started = performance.now();
  for (;;) {
    const code = await attempt();
    const elapsedMs = performance.now() - started;
    if (code !== 'ok' || elapsedMs > limitMs) return { code, elapsedMs };
    await sleep(10);
  }
}

/** Resolves once the feed (Redis, PostgreSQL) has confirmed its subscription. */
export function subscribed(feed: KeyChangeFeed): Promise<void> {
  return new Promise((resolve) => {
    const stop = feed.subscribe(
      () => {},
      () => {
        stop();
        resolve();
      },
    );
  });
}

/** The URL of `server` (listening on 127.0.0.1, port 0) once it listens; `cleanup` closes it. */
export async function listening(server: Server, cleanup: Cleanup): Promise<string> {
  cleanup.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A new PostgreSQL schema name for one test; `cleanup` drops the schema. */
export async function freshSchema(cleanup: Cleanup): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  cleanup.push(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });
  return schema;
}

/**
 * What one deployed instance opens: a PostgreSQL store on the shared `schema`, its own Redis
 * connection, and a Redis change feed on `channel`, subscribed before this resolves. `cleanup`
 * closes all three.
 */
export async function instanceConnections(
  cleanup: Cleanup,
  schema: string,
  channel: string,
  options: { readonly migrate?: boolean } = {},
) {
  const store = new PostgresKeyStore({
    connectionString: POSTGRES_URL,
    schema,
    migrate: options.migrate === true,
  });
  cleanup.push(() => store.close());
  const redis = new Redis(REDIS_URL);
  cleanup.push(() => redis.quit().catch(() => redis.disconnect()));
  const changeFeed = createRedisChangeFeed({ redis, channel });
  cleanup.push(() => changeFeed.close());
  await subscribed(changeFeed);
  return { store, redis, changeFeed };
}
