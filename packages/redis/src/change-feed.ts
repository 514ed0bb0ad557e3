import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '@orkesta/auth';
import {
  decodeKeyChangeMessage,
  encodeKeyChangeMessage,
  FeedSubscribers,
  type KeyChangeFeed,
  rejectUnknownOptions,
  StoreClosedError,
} from '@orkesta/auth/store';
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
   * Told when the subscription connection fails (`'subscribe'`), or a message cannot be read or
   * a listener threw (`'message'`; the other listeners are told all the same). Publishing
   * failures reject `publish` instead (the key manager reports those). Default: none, but a
   * listener that throws is a process warning, never silent.
   */
  readonly onError?: (error: unknown, context: { operation: 'subscribe' | 'message' }) => void;
}

/**
 * A change feed over Redis pub/sub. `close()` ends the subscription connection; after it,
 * `publish` rejects and `subscribe` throws with `StoreClosedError`.
 */
export interface RedisChangeFeed extends KeyChangeFeed {
  readonly channel: string;
  close(): Promise<void>;
}

const OPTION_NAMES: readonly (keyof RedisChangeFeedOptions)[] = ['redis', 'channel', 'onError'];

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
  rejectUnknownOptions(options, OPTION_NAMES);
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
  // Without onError, a listener that throws is a process warning: never silent.
  const subscribers = new FeedSubscribers(
    onError === undefined ? undefined : (error) => report(error, 'message'),
  );
  const what = `the Redis change feed on ${channel}`;
  let subscriber: Redis | undefined;
  let closed = false;

  function start(): void {
    const connection = redis.duplicate();
    subscriber = connection;
    // After every (re)connection: subscribe, and once Redis confirms, tell subscribers to drop
    // their caches. What was published while the connection was down is gone, and so is
    // anything published before the first subscription; the first time costs nothing.
    connection.on('ready', () => {
      connection.subscribe(channel).then(
        () => subscribers.reset(),
        (error: unknown) => {
          if (subscriber === connection) report(error, 'subscribe');
        },
      );
    });
    connection.on('error', (error: unknown) => report(error, 'subscribe'));
    // Messages published while the connection is down are lost: until it is back (`ready`,
    // then `reset`), subscribers trust their caches for a short time only.
    connection.on('close', () => {
      if (subscriber === connection) subscribers.interrupt();
    });
    connection.on('message', (from: string, raw: string) => {
      if (from !== channel) return;
      const message = decodeKeyChangeMessage(raw);
      if (message === undefined) {
        report(new Error(`ignored a malformed message on ${channel}`), 'message');
        return;
      }
      if (message.o !== origin) subscribers.deliver(message.ids);
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
      if (closed) throw new StoreClosedError(what);
      if (keyIds.length === 0) return;
      // Never throws: a listener that does is reported, and the message goes out all the same.
      subscribers.deliver(keyIds);
      await redis.publish(channel, encodeKeyChangeMessage(origin, keyIds));
    },
    subscribe(listener, onReset, onInterrupt) {
      if (closed) throw new StoreClosedError(what);
      const remove = subscribers.add(listener, onReset, onInterrupt);
      if (subscriber === undefined) start();
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        remove();
        if (subscribers.size === 0) void stop();
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      await stop();
    },
  };
}
