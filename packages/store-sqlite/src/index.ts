export { CHANGE_RETENTION_MS, SCHEMA_VERSION } from './constants.js';
export type { SqliteKeyStoreOptions } from './options.js';
export { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_POLL_INTERVAL_MS } from './options.js';
export { openSqliteKeyStore, SqliteKeyStore } from './store.js';
