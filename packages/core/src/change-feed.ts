import { ConfigurationError, StoreClosedError } from './errors.js';
import { optionsObject } from './options.js';
import type { KeyChangeFeed } from './store-types.js';

/**
 * What a feed between processes sends: the sender's origin id (so that a handle can drop its own
 * echo) and the changed key ids. `encodeKeyChangeMessage` writes it as `{"o":…,"ids":[…]}`.
 */
export interface KeyChangeMessage {
  readonly o: string;
  readonly ids: readonly string[];
}

export function encodeKeyChangeMessage(origin: string, keyIds: readonly string[]): string {
  return JSON.stringify({ o: origin, ids: keyIds });
}

/** The message in `raw`, or undefined when it is not one (a feed reports and ignores those). */
export function decodeKeyChangeMessage(raw: unknown): KeyChangeMessage | undefined {
  if (typeof raw !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { o, ids } = parsed as { o?: unknown; ids?: unknown };
  if (typeof o !== 'string' || !Array.isArray(ids)) return undefined;
  if (!ids.every((id): id is string => typeof id === 'string')) return undefined;
  return { o, ids };
}

/** What a feed hands its subscribers: the ids of keys that changed. */
export type ChangeListener = (keyIds: readonly string[]) => void;

/**
 * A feed's subscribers, for every change feed (memory, SQLite, PostgreSQL, Redis): each is
 * told of every change, and none can stop the others or the feed. A listener or reset that
 * throws is reported to `report` (the feed's `onError`), and delivery goes on to the rest; with
 * no `report`, the error is emitted as a process warning, so that it is never silent.
 */
export class FeedSubscribers {
  readonly #subscriptions = new Set<{
    readonly listener: ChangeListener;
    readonly onReset: (() => void) | undefined;
    readonly onInterrupt: (() => void) | undefined;
  }>();
  readonly #report: (error: unknown) => void;
  /** Between `interrupt` and `reset`: a subscriber added meanwhile is told at once. */
  #interrupted = false;

  constructor(report?: (error: unknown) => void) {
    this.#report = report ?? warn;
  }

  /** How many subscribers there are now. */
  get size(): number {
    return this.#subscriptions.size;
  }

  /** Adds a subscriber; returns what removes it (calling it again does nothing). */
  add(listener: ChangeListener, onReset?: () => void, onInterrupt?: () => void): () => void {
    if (typeof listener !== 'function') throw new ConfigurationError('listener must be a function');
    if (onReset !== undefined && typeof onReset !== 'function') {
      throw new ConfigurationError('onReset must be a function');
    }
    if (onInterrupt !== undefined && typeof onInterrupt !== 'function') {
      throw new ConfigurationError('onInterrupt must be a function');
    }
    const subscription = { listener, onReset, onInterrupt };
    this.#subscriptions.add(subscription);
    // The feed is cut off already: this subscriber must not trust what it caches either.
    if (this.#interrupted) this.#call(onInterrupt);
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  /** Tells every subscriber of the moment which keys changed. Never throws. */
  deliver(keyIds: readonly string[]): void {
    for (const { listener } of [...this.#subscriptions]) {
      try {
        listener(keyIds);
      } catch (error) {
        this.#reportSafely(error);
      }
    }
  }

  /** Tells every subscriber to forget what it cached: the feed may have missed changes. */
  reset(): void {
    this.#interrupted = false;
    for (const { onReset } of [...this.#subscriptions]) this.#call(onReset);
  }

  /**
   * Tells every subscriber the feed lost its connection: changes may not arrive until `reset`.
   * Subscribers added before then are told as they subscribe.
   */
  interrupt(): void {
    this.#interrupted = true;
    for (const { onInterrupt } of [...this.#subscriptions]) this.#call(onInterrupt);
  }

  clear(): void {
    this.#subscriptions.clear();
  }

  #call(handler: (() => void) | undefined): void {
    try {
      handler?.();
    } catch (error) {
      this.#reportSafely(error);
    }
  }

  #reportSafely(error: unknown): void {
    try {
      this.#report(error);
    } catch {
      // A reporter that throws has nowhere left to report to; delivery goes on.
    }
  }
}

function warn(error: unknown): void {
  process.emitWarning(
    error instanceof Error ? error : new Error(String(error)),
    'OrkestaAuthWarning',
  );
}

export interface LocalChangeFeedOptions {
  /** Told when a subscriber throws; the others are told all the same. Default: a process warning. */
  readonly onError?: (error: unknown) => void;
}

/** A change feed within one process; `close()` ends it. */
export interface LocalChangeFeed extends KeyChangeFeed {
  publish(keyIds: readonly string[]): Promise<void>;
  close(): void;
}

/**
 * A change feed within one process: enough when every authenticator shares the process.
 * `publish` tells every subscriber before it returns; after `close()`, `publish` rejects and
 * `subscribe` throws with `StoreClosedError`.
 */
export function createLocalChangeFeed(options?: LocalChangeFeedOptions): LocalChangeFeed {
  const { onError } = optionsObject(options, ['onError'], undefined, '{ onError? }');
  if (onError !== undefined && typeof onError !== 'function') {
    throw new ConfigurationError('onError must be a function (error) => void');
  }
  const subscribers = new FeedSubscribers(onError);
  let closed = false;
  const what = 'this local change feed';
  return {
    async publish(keyIds) {
      if (closed) throw new StoreClosedError(what);
      subscribers.deliver(keyIds);
    },
    subscribe(listener, onReset) {
      if (closed) throw new StoreClosedError(what);
      return subscribers.add(listener, onReset);
    },
    close() {
      closed = true;
      subscribers.clear();
    },
  };
}

/**
 * One feed over several (a store's own and Redis, say): `publish` sends to every one of them
 * (all are tried; the first failure rejects, after the others were sent), and a subscriber
 * hears the changes of every one. Subscribers are told the feed is interrupted while any of them
 * is (a publisher may be using only that one), and to reset whenever one of them resets.
 */
export function combineChangeFeeds(feeds: readonly KeyChangeFeed[]): KeyChangeFeed {
  if (!Array.isArray(feeds) || feeds.length === 0) {
    throw new ConfigurationError('combineChangeFeeds needs an array of at least one change feed');
  }
  feeds.forEach((feed, i) => {
    if (
      feed === null ||
      typeof feed !== 'object' ||
      typeof feed.publish !== 'function' ||
      typeof feed.subscribe !== 'function'
    ) {
      throw new ConfigurationError(`feeds[${i}] must be a change feed with publish and subscribe`);
    }
  });
  return {
    async publish(keyIds) {
      const sent = await Promise.allSettled(feeds.map(async (feed) => feed.publish(keyIds)));
      const failed = sent.find((outcome) => outcome.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
    subscribe(listener, onReset, onInterrupt) {
      const down = new Set<KeyChangeFeed>();
      const stops: (() => void)[] = [];
      const stopAll = () => {
        for (const stop of stops) stop();
      };
      try {
        for (const feed of feeds) {
          stops.push(
            feed.subscribe(
              listener,
              () => {
                down.delete(feed);
                onReset?.();
                // Another is still cut off: the caches it could not keep fresh stay on short trust.
                if (down.size > 0) onInterrupt?.();
              },
              () => {
                down.add(feed);
                onInterrupt?.();
              },
            ),
          );
        }
      } catch (error) {
        stopAll(); // none of the subscriptions made so far is left behind
        throw error;
      }
      return stopAll;
    },
  };
}
