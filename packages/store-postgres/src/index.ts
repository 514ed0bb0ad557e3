export type {
  PostgresErrorHandler,
  PostgresErrorOperation,
  ReconnectDelay,
} from './change-feed.js';
export { MAX_PAYLOAD_BYTES, PostgresChangeFeed } from './change-feed.js';
export type { SchemaProblem } from './errors.js';
export { describeError, SchemaVersionError } from './errors.js';
export { DEFAULT_SCHEMA, defaultChannel, validateSchemaName } from './identifiers.js';
export type { MigrateOptions, MigrationResult } from './migrations.js';
export { migrate, SCHEMA_VERSION } from './migrations.js';
export type { PostgresKeyStoreOptions } from './store.js';
export { PostgresKeyStore } from './store.js';
