import { join } from 'node:path';
import { describeKeyStore } from '@orkesta/auth/testing';
import { SqliteKeyStore } from '../src/index.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

describeKeyStore('SqliteKeyStore', {
  create: () => new SqliteKeyStore({ filename: join(tempDir(), 'keys.db') }),
  // A second handle on the same file, as another process would open it.
  reopen: (store) => new SqliteKeyStore({ filename: store.filename }),
  close: (store) => store.close(),
});

describeKeyStore('SqliteKeyStore in memory', {
  create: () => new SqliteKeyStore({ filename: ':memory:' }),
  close: (store) => store.close(),
});
