export type { RedisChangeFeed, RedisChangeFeedOptions } from './change-feed.js';
export { createRedisChangeFeed, DEFAULT_CHANGE_CHANNEL } from './change-feed.js';
export type { RedisRateLimiterOptions } from './rate-limiter.js';
export {
  DEFAULT_RATE_PREFIX,
  RateLimiterUnavailableError,
  RedisRateLimiter,
} from './rate-limiter.js';
