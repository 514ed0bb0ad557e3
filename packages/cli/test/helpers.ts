import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach } from 'vitest';
import { POSTGRES_URL, serviceAvailable } from '../../../test/services.js';

export { POSTGRES_URL };

/** Whether PostgreSQL answers; under CI an unreachable server fails the suite instead. */
export const postgresAvailable = await serviceAvailable('postgres');

const dirs: string[] = [];
const schemas = new Set<string>();
let admin: pg.Pool | undefined;

/** A connection of the tests' own, to look at what the CLI left in a schema. */
export function adminPool(): pg.Pool {
  if (admin === undefined) {
    admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    admin.on('error', () => {});
  }
  return admin;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas) {
    await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  schemas.clear();
});

afterAll(async () => {
  await admin?.end();
});

/** A fresh temporary directory (its real path), removed after the test. */
export function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'orkesta-cli-')));
  dirs.push(dir);
  return dir;
}

/** A fresh schema name, dropped after the test. */
export function newSchema(): string {
  const schema = `cli_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

/** `POSTGRES_URL` with `?schema=` set, optionally with a password the server ignores. */
export function postgresSpec(schema: string, password?: string): string {
  const url = new URL(POSTGRES_URL);
  if (password !== undefined) url.password = password;
  url.searchParams.set('schema', schema);
  return url.toString();
}
