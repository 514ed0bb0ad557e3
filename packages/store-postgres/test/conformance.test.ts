import { describeKeyStore } from '@orkesta/auth/testing';
import { describe } from 'vitest';
import { PostgresKeyStore } from '../src/index.js';
import { available, dropSchema, listening, newSchema, POSTGRES_URL } from './helpers.js';

/** The stores `create` made, whose schema goes when they are closed. */
const primaries = new Set<PostgresKeyStore>();

describe.skipIf(!available)('PostgresKeyStore on the real server', () => {
  describeKeyStore<PostgresKeyStore>('PostgresKeyStore', {
    create() {
      const store = new PostgresKeyStore({
        connectionString: POSTGRES_URL,
        schema: newSchema(),
        migrate: true,
      });
      primaries.add(store);
      return store;
    },
    async reopen(store) {
      // Another instance: its own pool on the same schema. Like a running instance, whose
      // authenticator subscribed at startup, it is listening before anything is published.
      const other = new PostgresKeyStore({
        connectionString: POSTGRES_URL,
        schema: store.schema,
        migrate: true,
      });
      await listening(other);
      return other;
    },
    async close(store) {
      await store.close();
      if (primaries.delete(store)) await dropSchema(store.schema);
    },
  });
});
