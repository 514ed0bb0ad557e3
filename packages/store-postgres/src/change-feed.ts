import { randomUUID } from 'node:crypto';
import {
  decodeKeyChangeMessage,
  encodeKeyChangeMessage,
  FeedSubscribers,
  type KeyChangeFeed,
  StoreClosedError,
} from '@orkesta/auth/store';
import pg from 'pg';
import { quoteIdentifier } from './identifiers.js';

/** What went wrong, for `onError`: the listening connection, a notification, or the pool. */
export type PostgresErrorOperation = 'listen' | 'notification' | 'pool';

export type PostgresErrorHandler = (
  error: unknown,
  context: { readonly operation: PostgresErrorOperation },
) => void;

/** Delays between attempts to reconnect the listening connection: doubling from `min` to `max`. */
export interface ReconnectDelay {
  readonly min: number;
  readonly max: number;
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more (the default build). */
export const MAX_PAYLOAD_BYTES = 7999;

type Listener = (keyIds: readonly string[]) => void;

export interface ChangeFeedSettings {
  readonly pool: pg.Pool;
  readonly channel: string;
  /** Connection settings of the dedicated listening client. */
  readonly clientConfig: () => pg.ClientConfig;
  readonly reconnectDelay: ReconnectDelay;
  /** Limit on the LISTEN statement itself, and on each heartbeat, in ms. */
  readonly queryTimeoutMs: number;
  /**
   * How often the listening connection proves it is alive, in ms. A connection cut without a
   * reset (a partition, an idle drop by a NAT) raises no event for hours; a `SELECT 1` that
   * times out does, and the feed reconnects.
   */
  readonly heartbeatMs: number;
  /** What a closed feed's errors name. */
  readonly what: string;
  readonly report: (error: unknown, operation: PostgresErrorOperation) => void;
  /**
   * Told of a subscriber that threw (the store's `onError`, as `'notification'`); undefined
   * for the process warning `FeedSubscribers` gives, so that it is never silent.
   */
  readonly reportListener: ((error: unknown) => void) | undefined;
}

/**
 * A change feed over LISTEN/NOTIFY. `publish` tells this handle's listeners at once, then sends
 * `{"o": <origin>, "ids": [...]}` through the pool with `pg_notify`, split so that no payload
 * reaches PostgreSQL's 8000-byte limit. One dedicated connection (not a pool client) LISTENs,
 * from the first subscriber to the last. When it fails it calls every subscriber's
 * `onInterrupt`, and reconnects with capped exponential backoff; each time its LISTEN is in
 * place it calls every subscriber's `onReset`: what was sent while it was not listening is
 * lost. A subscriber that throws is reported and the others are told all the same; after
 * `close()`, `publish` rejects and `subscribe` throws with `StoreClosedError`.
 */
export class PostgresChangeFeed implements KeyChangeFeed {
  readonly channel: string;
  /** Tells this handle's own notifications apart from other handles' when they come back. */
  readonly origin = randomUUID();
  readonly #settings: ChangeFeedSettings;
  readonly #subscribers: FeedSubscribers;
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #attempt = 0;
  #closed = false;
  #listening = false;

  constructor(settings: ChangeFeedSettings) {
    this.#settings = settings;
    this.channel = settings.channel;
    this.#subscribers = new FeedSubscribers(settings.reportListener);
  }

  async publish(keyIds: readonly string[]): Promise<void> {
    if (this.#closed) throw new StoreClosedError(this.#settings.what);
    if (keyIds.length === 0) return;
    this.#subscribers.deliver(keyIds);
    const payloads = this.#payloads(keyIds);
    // One statement, one transaction: every chunk is sent, in order, or none.
    await this.#settings.pool.query({
      text: 'SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n',
      values: [this.channel, payloads],
    });
  }

  subscribe(listener: Listener, onReset?: () => void, onInterrupt?: () => void): () => void {
    if (this.#closed) throw new StoreClosedError(this.#settings.what);
    const remove = this.#subscribers.add(listener, onReset, onInterrupt);
    if (this.#client === undefined && this.#retry === undefined) this.#connect();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      remove();
      if (this.#subscribers.size === 0) void this.#stop();
    };
  }

  /** Whether the listening connection has its LISTEN in place. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Ends the listening connection for good; later, `publish` rejects and `subscribe` throws. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.clear();
    await this.#stop();
  }

  /** `keyIds` as notification payloads, each of at most `MAX_PAYLOAD_BYTES`, in order. */
  #payloads(keyIds: readonly string[]): string[] {
    // The message of no ids, `{"o":…,"ids":[]}`, opened where the ids go.
    const tail = ']}';
    const head = encodeKeyChangeMessage(this.origin, []).slice(0, -tail.length);
    const frame = Buffer.byteLength(head) + tail.length;
    const payloads: string[] = [];
    let items: string[] = [];
    let bytes = frame;
    for (const id of keyIds) {
      const item = JSON.stringify(String(id));
      const size = Buffer.byteLength(item);
      if (frame + size > MAX_PAYLOAD_BYTES) {
        throw new RangeError(`key id ${item.slice(0, 40)}… is too long for a notification`);
      }
      if (items.length > 0 && bytes + 1 + size > MAX_PAYLOAD_BYTES) {
        payloads.push(`${head}${items.join(',')}${tail}`);
        items = [];
        bytes = frame;
      }
      bytes += (items.length > 0 ? 1 : 0) + size;
      items.push(item);
    }
    payloads.push(`${head}${items.join(',')}${tail}`);
    return payloads;
  }

  #wanted(): boolean {
    return !this.#closed && this.#subscribers.size > 0;
  }

  #connect(): void {
    this.#retry = undefined;
    if (!this.#wanted()) return;
    let client: pg.Client;
    try {
      client = new pg.Client(this.#settings.clientConfig());
    } catch (error) {
      this.#settings.report(error, 'listen');
      this.#subscribers.interrupt();
      this.#scheduleReconnect();
      return;
    }
    this.#client = client;
    const fail = (error: unknown) => {
      if (this.#client !== client) return; // stopped on purpose, or already replaced
      this.#settings.report(error, 'listen');
      clearInterval(this.#heartbeat);
      this.#client = undefined;
      this.#listening = false;
      client.end().catch(() => {});
      // Until LISTEN is back in place, notifications are lost: subscribers trust their caches
      // for a short time only, and `reset` (on reconnection) has them drop everything.
      this.#subscribers.interrupt();
      this.#scheduleReconnect();
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('the listening connection ended')));
    client.on('notification', (message) => {
      if (this.#client === client && message.channel === this.channel) {
        this.#receive(message.payload);
      }
    });
    client
      .connect()
      .then(() =>
        client.query({
          text: `LISTEN ${quoteIdentifier(this.channel)}`,
          query_timeout: this.#settings.queryTimeoutMs,
        } as pg.QueryConfig),
      )
      .then(
        () => {
          if (this.#client !== client) return;
          this.#attempt = 0;
          this.#listening = true;
          this.#heartbeat = setInterval(() => {
            client
              .query({
                text: 'SELECT 1',
                query_timeout: this.#settings.queryTimeoutMs,
              } as pg.QueryConfig)
              .catch(fail);
          }, this.#settings.heartbeatMs);
          this.#heartbeat.unref();
          this.#subscribers.reset();
        },
        (error: unknown) => fail(error),
      );
  }

  #scheduleReconnect(): void {
    if (!this.#wanted()) return;
    const { min, max } = this.#settings.reconnectDelay;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    // Jitter, so that many instances cut off at once do not reconnect in step.
    const delay = Math.max(min, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
    this.#retry = setTimeout(() => this.#connect(), delay);
    this.#retry.unref();
  }

  async #stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#attempt = 0;
    this.#listening = false;
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await client.end().catch(() => {});
  }

  #receive(payload: string | undefined): void {
    const message = decodeKeyChangeMessage(payload);
    if (message === undefined) {
      this.#settings.report(
        new Error(`ignored a malformed notification on channel ${this.channel}`),
        'notification',
      );
      return;
    }
    if (message.o !== this.origin && message.ids.length > 0) this.#subscribers.deliver(message.ids);
  }
}
