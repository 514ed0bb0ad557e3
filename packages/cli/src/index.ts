export type { CliIo } from './cli.js';
export { run } from './cli.js';
export type { ExitCode } from './commands.js';
export { EXIT_CODES } from './commands.js';
export type {
  MigrationReport,
  OpenedKeyStore,
  OpenKeyStoreOptions,
  StoreOpenErrorCode,
} from './open-store.js';
export { migrateKeyStore, openKeyStore, StoreOpenError } from './open-store.js';
export type { OpenedRedis } from './redis.js';
export { openRedis, REDIS_ENV, redisLabel, resolveRedisUrl } from './redis.js';
export type { StoreSpec, StoreSpecOptions } from './store-spec.js';
export {
  DEFAULT_STORE_SPEC,
  parseStoreSpec,
  resolveStoreSpec,
  STORE_ENV,
  storeLabel,
} from './store-spec.js';
