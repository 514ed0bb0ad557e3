export type { RedisChangeFeed, RedisChangeFeedOptions } from './change-feed.js';
export { createRedisChangeFeed, DEFAULT_CHANGE_CHANNEL } from './change-feed.js';
