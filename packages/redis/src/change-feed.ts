import { randomUUID } from 'node:crypto';
import {
  ConfigurationError,
  decodeKeyChangeMessage,
  encodeKeyChangeMessage,
  type KeyChangeFeed,
} from '@orkesta/auth';
import type { Redis } from 'ioredis';

export const DEFAULT_CHANGE_CHANNEL = 'orkesta-auth:key-changes';

export interface RedisChangeFeedOptions {
  /**
   * The connection to publish on. Subscribing takes a connection of its own (a subscribed
   * Redis connection can do nothing else), made with `redis.duplicate()` when the first
   * listener subscribes. The feed never closes this one: it is yours.
   */
  readonly redis: Redis;
  /** Every instance that shares keys must use the same channel. Default `orkesta-auth:key-changes`. */
  readonly channel?: string;
  /**
   * Told when the subscription connection fails or a message cannot be read. Publishing
   * failures reject `publish` instead (the key manager reports those).
   */
  readonly onError?: (error: unknown, context: { operation: 'subscribe' | 'message' }) => void;
}

/** A change feed over Redis pub/sub. `close()` ends the subscription connection. */
export interface RedisChangeFeed extends KeyChangeFeed {
  readonly channel: string;
  close(): Promise<void>;
}

type Listener = (keyIds: readonly string[]) => void;

/**
 * Tells every instance which keys changed, over Redis pub/sub. Listeners in this process hear a
 * change at once, as it is published; other processes through Redis, in about a round trip.
 * Pub/sub delivers only to connected subscribers: after the subscription connection comes back
 * from a drop, the feed asks its subscribers to forget everything they cached (`onReset`),
 * because changes published meanwhile are lost.
 */
export function createRedisChangeFeed(options: RedisChangeFeedOptions): RedisChangeFeed {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options are required: createRedisChangeFeed({ redis })');
  }
  const { redis } = options;
  if (
    redis === null ||
    typeof redis !== 'object' ||
    typeof redis.publish !== 'function' ||
    typeof redis.duplicate !== 'function'
  ) {
    throw new ConfigurationError('redis must be an ioredis client: new Redis(url)');
  }
  const channel = options.channel ?? DEFAULT_CHANGE_CHANNEL;
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new ConfigurationError('channel must be a non-empty string');
  }
  const { onError } = options;
  if (onError !== undefined && typeof onError !== 'function') {
    throw new ConfigurationError('onError must be a function');
  }
  const report = (error: unknown, operation: 'subscribe' | 'message') => {
    try {
      onError?.(error, { operation });
    } catch {
      // A failing reporter must not take the subscription down with it.
    }
  };

  // Tells this instance's own messages apart from other instances' when they come back.
  const origin = randomUUID();
  const listeners = new Set<Listener>();
  const resets = new Set<() => void>();
  let subscriber: Redis | undefined;
  let closed = false;

  const deliver = (keyIds: readonly string[]) => {
    for (const listener of listeners) listener(keyIds);
  };

  function start(): void {
    const connection = redis.duplicate();
    subscriber = connection;
    // After every (re)connection: subscribe, and once Redis confirms, tell subscribers to drop
    // their caches. What was published while the connection was down is gone, and so is
    // anything published before the first subscription; the first time costs nothing.
    connection.on('ready', () => {
      connection.subscribe(channel).then(
        () => {
          for (const reset of resets) reset();
        },
        (error: unknown) => {
          if (subscriber === connection) report(error, 'subscribe');
        },
      );
    });
    connection.on('error', (error: unknown) => report(error, 'subscribe'));
    connection.on('message', (from: string, raw: string) => {
      if (from !== channel) return;
      const message = decodeKeyChangeMessage(raw);
      if (message === undefined) {
        report(new Error(`ignored a malformed message on ${channel}`), 'message');
        return;
      }
      if (message.o !== origin) deliver(message.ids);
    });
    // Connects a client made with `lazyConnect`; otherwise queued until ready (and harmless).
    connection.subscribe(channel).catch((error: unknown) => {
      if (subscriber === connection) report(error, 'subscribe');
    });
  }

  async function stop(): Promise<void> {
    const connection = subscriber;
    subscriber = undefined;
    if (connection === undefined) return;
    try {
      await connection.quit();
    } catch {
      connection.disconnect();
    }
  }

  return {
    channel,
    async publish(keyIds) {
      if (keyIds.length === 0) return;
      deliver(keyIds);
      await redis.publish(channel, encodeKeyChangeMessage(origin, keyIds));
    },
    subscribe(listener, onReset) {
      if (closed) throw new ConfigurationError('this change feed is closed');
      listeners.add(listener);
      if (onReset !== undefined) resets.add(onReset);
      if (subscriber === undefined) start();
      return () => {
        listeners.delete(listener);
        if (onReset !== undefined) resets.delete(onReset);
        if (listeners.size === 0) void stop();
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      resets.clear();
      await stop();
    },
  };
}
