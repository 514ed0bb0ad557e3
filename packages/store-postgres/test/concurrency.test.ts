import { createAuthenticator, createKeyManager, type KeyLookup } from '@orkesta/auth';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  available,
  closeLater,
  codeOf,
  listening,
  newSchema,
  openStore,
  POSTGRES_URL,
  poolLater,
} from './helpers.js';

/** The text of `PostgresKeyStore.findById`: `SELECT <columns> FROM "<schema>".api_keys WHERE id = $1`. */
const LOOKUP_BY_ID = /^SELECT [^;]+ FROM "[^"]+"\.api_keys WHERE id = \$1$/;

/**
 * Wraps `pool.query` to record the id of every lookup by id sent through it, whatever else the
 * pool carries (migrations, the schema check, `pg_notify`). The array fills as queries go out.
 */
function lookupsThrough(pool: pg.Pool): string[] {
  const ids: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const [first, second] = args;
    const config =
      typeof first === 'object' && first !== null ? (first as pg.QueryConfig) : undefined;
    const text = typeof first === 'string' ? first : config?.text;
    const values = Array.isArray(second) ? second : config?.values;
    if (typeof text === 'string' && LOOKUP_BY_ID.test(text)) ids.push(String(values?.[0]));
    return query(...args);
  }) as typeof pool.query;
  return ids;
}

describe.skipIf(!available)('concurrent requests', () => {
  it('100 concurrent authentications of one uncached key make exactly one findById', async () => {
    const store = openStore({ schema: newSchema(), migrate: true });
    const { key } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-write',
    });
    // The feed resets caches when its LISTEN is first in place; let that happen beforehand.
    await listening(store);
    let lookups = 0;
    const counted: KeyLookup = {
      findById(id) {
        lookups++;
        return store.findById(id);
      },
      changes: store.changes,
    };
    const auth = closeLater(createAuthenticator({ store: counted, lastUsed: false }));
    const request = { authorization: `Bearer ${key}`, secure: true };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => auth.authenticate(request)),
    );
    expect(results.map(codeOf)).toEqual(Array(100).fill('ok'));
    expect(lookups).toBe(1);
  });

  it('100 concurrent authentications of one uncached key send exactly one query to PostgreSQL', async () => {
    const pool = poolLater(new pg.Pool({ connectionString: POSTGRES_URL, max: 10 }));
    const lookups = lookupsThrough(pool);
    const store = openStore({ pool, schema: newSchema(), migrate: true });
    const { key, record } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-write',
    });
    const auth = closeLater(createAuthenticator({ store, lastUsed: false }));
    // The feed resets caches (and forgets lookups under way) when its LISTEN is first in place.
    await listening(store);
    expect(lookups).toEqual([]);

    const request = { authorization: `Bearer ${key}`, secure: true };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => auth.authenticate(request)),
    );
    expect(results.map(codeOf)).toEqual(Array(100).fill('ok'));
    expect(lookups).toEqual([record.id]);

    // Cached now: another burst reaches PostgreSQL no more.
    const again = await Promise.all(Array.from({ length: 100 }, () => auth.authenticate(request)));
    expect(again.map(codeOf)).toEqual(Array(100).fill('ok'));
    expect(lookups).toEqual([record.id]);
  });
});
