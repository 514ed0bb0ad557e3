import { randomBytes } from 'node:crypto';
import type { AuthResult } from '@orkesta/auth';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';
import { type Gate, type GateMode, openGate as openSharedGate } from '../../../test/gate.js';
import { POSTGRES_URL, serviceAvailable } from '../../../test/services.js';
import { PostgresKeyStore, type PostgresKeyStoreOptions } from '../src/index.js';

export { POSTGRES_URL };

/** Whether the server answers; under CI an unreachable server fails the suite instead. */
export const available = await serviceAvailable('postgres');

/** A connection of the tests' own, to look at and break what the stores do. */
export const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
admin.on('error', () => {});
afterAll(() => admin.end());

/** Schemas made by this file's tests; each is dropped after its test. */
const schemas = new Set<string>();
/** Things to close after each test, last opened first. */
const opened: { close(): unknown }[] = [];

afterEach(async () => {
  const failures: unknown[] = [];
  for (const thing of opened.splice(0).reverse()) {
    try {
      await thing.close();
    } catch (error) {
      failures.push(error);
    }
  }
  // Schemas go even when something failed to close.
  for (const schema of schemas) await dropSchema(schema);
  schemas.clear();
  if (failures.length > 0) throw failures[0];
});

/** A fresh schema name, dropped after the test. */
export function newSchema(): string {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

export async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Closes `thing` after the test. */
export function closeLater<T extends { close(): unknown }>(thing: T): T {
  opened.push(thing);
  return thing;
}

/** Ends `pool` after the test. */
export function poolLater(pool: pg.Pool): pg.Pool {
  pool.on('error', () => {});
  opened.push({ close: () => pool.end() });
  return pool;
}

/** A store on the test server (or on `connectionString`, or your `pool`), closed after the test. */
export function openStore(options: PostgresKeyStoreOptions): PostgresKeyStore {
  const store =
    options.pool !== undefined || options.connectionString !== undefined
      ? new PostgresKeyStore(options)
      : new PostgresKeyStore({ connectionString: POSTGRES_URL, ...options });
  return closeLater(store);
}

/** A distinctive `application_name`, to find a store's connections in `pg_stat_activity`. */
export function appName(): string {
  return `orkesta-test-${randomBytes(4).toString('hex')}`;
}

/**
 * Subscribes a listener to `store.changes` and resolves once its LISTEN is in place (at once if
 * it already was, else at the first `onReset`), with the unsubscribe function.
 */
export function listening(
  store: PostgresKeyStore,
  listener: (ids: readonly string[]) => void = () => {},
  onReset: () => void = () => {},
): Promise<() => void> {
  return within(
    new Promise<() => void>((resolve) => {
      const stop = store.changes.subscribe(listener, () => {
        onReset();
        resolve(stop);
      });
      // Already listening for earlier subscribers: no reset comes, none is needed.
      if (store.changes.listening) resolve(stop);
    }),
    5_000,
    'the LISTEN',
  );
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it returns true; rejects after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function codeOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.error.code;
}

/** The `code` an async call rejects with, or `'resolved'`. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return 'resolved';
}

/** Backends of this database whose application_name is `name`. */
export async function backends(name: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [name],
  );
  return rows.map((row) => row.pid);
}

/** Terminates those backends and waits until they are gone. */
export async function terminate(name: string): Promise<number> {
  const pids = await backends(name);
  for (const pid of pids) await admin.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
  return pids.length;
}

export type { Gate, GateMode };

/** A gate (see `test/gate.ts`) in front of this machine's PostgreSQL, closed after the test. */
export async function openGate(mode: GateMode): Promise<Gate> {
  return closeLater(await openSharedGate(POSTGRES_URL, mode));
}
