import { StoreClosedError } from '@orkesta/auth';
import { sampleKeyRecord } from '@orkesta/auth/testing';
import { describe, expect, it } from 'vitest';
import { PostgresKeyStore } from '../src/index.js';

const T0 = new Date(Date.UTC(2026, 0, 1));

/** What `run` throws or rejects with. */
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('a closed PostgresKeyStore', () => {
  // No server is needed: a closed store refuses before it would connect.
  it('rejects every method, and its feed, with ERR_ORKESTA_AUTH_STORE_CLOSED', async () => {
    const store = new PostgresKeyStore({
      connectionString: 'postgres://nobody@127.0.0.1:1/none',
      schema: 'closed_store',
    });
    await store.close();
    await store.close(); // again: nothing to do
    const record = sampleKeyRecord();
    const calls: [string, () => unknown][] = [
      ['findById', () => store.findById(record.id)],
      ['findById of no id', () => store.findById('')],
      ['insert', () => store.insert(record)],
      ['list', () => store.list({ now: T0, limit: 10 })],
      ['update', () => store.update(record.id, { revokedAt: T0 })],
      ['update with no changes', () => store.update(record.id, {})],
      ['recordLastUsed', () => store.recordLastUsed(new Map([[record.id, T0]]))],
      ['recordLastUsed of none', () => store.recordLastUsed(new Map())],
      ['migrate', () => store.migrate()],
      ['changes.publish', () => store.changes.publish([record.id])],
      ['changes.subscribe', () => store.changes.subscribe(() => {})],
    ];
    for (const [name, call] of calls) {
      const error = await failure(call);
      expect(error, name).toBeInstanceOf(StoreClosedError);
      expect((error as StoreClosedError).code, name).toBe('ERR_ORKESTA_AUTH_STORE_CLOSED');
      expect((error as Error).message, name).toContain(
        'PostgresKeyStore on schema "closed_store" is closed',
      );
    }
  });
});
