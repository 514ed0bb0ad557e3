import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { POSTGRES_URL } from '../../../test/services.js';

/**
 * `ORKESTA_AUTH_STORE` values naming fresh schemas of the test database (`prefix_<random>`),
 * each dropped after the suite. Call in a `describe`.
 */
export function freshSchemas(prefix: string): () => string {
  const schemas: string[] = [];
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  admin.on('error', () => {});
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });
  return () => {
    const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('schema', schema);
    return url.toString();
  };
}
