/**
 * `@orkesta/auth/store`: what authors of key stores, change feeds and rate limiters need. A
 * store that passes `describeKeyStore` (`@orkesta/auth/testing`) works with every authenticator
 * and key manager.
 */
export type { ChangeListener, KeyChangeMessage } from './change-feed.js';
export {
  decodeKeyChangeMessage,
  encodeKeyChangeMessage,
  FeedSubscribers,
} from './change-feed.js';
export { KeyManagementError, StoreClosedError } from './errors.js';
export type { DecodedHash, StoredHash } from './hashing.js';
export { KeyHasher, storedKeyKind } from './hashing.js';
export type { ListPosition } from './list-paging.js';
export {
  checkListQuery,
  decodeListCursor,
  encodeListCursor,
  LIST_LIMIT_MAX,
  newestFirst,
  pageOf,
} from './list-paging.js';
export { optionsObject, rejectUnknownOptions } from './options.js';
export type { RateLimitDecision, RateLimiter, RateLimitRule } from './rate-limit.js';
export { gcra, rateLimitField, rateLimitRule, retryAfterSeconds } from './rate-limit.js';
export type { KeyRow, ListPlaceholders } from './sql-rows.js';
export {
  KEY_COLUMNS,
  KEY_ORDER,
  listKeysSql,
  rateLimitJson,
  recordFromRow,
  statusCondition,
} from './sql-rows.js';
export type {
  ApiKeyRecord,
  KeyChangeFeed,
  KeyChanges,
  KeyLookup,
  KeyPage,
  KeyStatus,
  KeyStore,
  ListKeysQuery,
  StoredKey,
} from './store-types.js';
export { keyStatus } from './store-types.js';
export { MAX_TIMER_MS, positiveInteger } from './validate.js';
