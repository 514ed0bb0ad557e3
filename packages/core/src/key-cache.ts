import type { LRUCache } from 'lru-cache';
import { equalInConstantTime } from './constant-time.js';
import { AuthUnavailableError } from './errors.js';
import { KEY_LENGTH, keyIdPosition } from './key-format.js';
import { growingLru } from './lru.js';
import { hasSignedKeyPrefix, SIGNED_KEY_MAX_LENGTH, signedKeyIdPosition } from './signed-key.js';
import type { LookupOutcome } from './steps/lookup.js';
import { UNKNOWN } from './steps/lookup.js';
import type { KeyChangeFeed } from './store-types.js';
import type { KnownKey } from './stored-record.js';

/** The sizes and lifetimes of the caches, checked (see `CacheOptions`). */
export interface CacheSettings {
  readonly max: number;
  readonly ttlMs: number;
  readonly negativeMax: number;
  readonly negativeTtlMs: number;
  readonly feedOutageTtlMs: number;
}

/**
 * The key cache: verified keys (bounded LRU, TTL), unknown ids (negative cache: smaller TTL,
 * bounded, so a flood of random ids cannot grow memory), one store call for concurrent misses
 * of an id (single flight), and invalidation by the change feed. Without settings (`cache:
 * false`) it keeps nothing but still shares a lookup under way.
 *
 * TTLs are judged with the clock reading the request already took, rather than by lru-cache,
 * which would read the clock again on every get.
 */
export class KeyCache {
  readonly #known: LRUCache<string, KnownKey> | undefined;
  readonly #ttlMs: number;
  /** Unknown ids, each with the time (clock ms) until which it is taken as unknown. */
  readonly #unknown: LRUCache<string, number> | undefined;
  readonly #negativeTtlMs: number;
  readonly #feedOutageTtlMs: number;
  /** When the change feed said it lost its connection; undefined while it delivers. */
  #feedDownSince: number | undefined;
  readonly #inflight = new Map<string, Promise<LookupOutcome>>();
  readonly #fetch: (id: string) => Promise<LookupOutcome>;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void) | undefined;

  constructor(
    settings: CacheSettings | undefined,
    fetch: (id: string) => Promise<LookupOutcome>,
    now: () => number,
    feed: KeyChangeFeed | undefined,
  ) {
    this.#known = settings === undefined ? undefined : growingLru(settings.max);
    this.#ttlMs = settings?.ttlMs ?? 0;
    this.#unknown = settings === undefined ? undefined : growingLru(settings.negativeMax);
    this.#negativeTtlMs = settings?.negativeTtlMs ?? 0;
    this.#feedOutageTtlMs = settings?.feedOutageTtlMs ?? 0;
    this.#fetch = fetch;
    this.#now = now;
    this.#unsubscribe = feed?.subscribe(
      (keyIds) => {
        for (const id of keyIds) this.invalidate(id);
      },
      () => this.feedReset(),
      () => this.feedInterrupted(),
    );
  }

  /**
   * The change feed lost its connection: until it is back, changes made elsewhere may not
   * arrive, so an entry is trusted for `feedOutageTtlMs` at most (see `#fresh`). A second drop
   * before the feed is back keeps the first one's start.
   */
  feedInterrupted(): void {
    this.#feedDownSince ??= this.#now();
  }

  /** The change feed is back and may have missed changes: forget everything, trust as usual. */
  feedReset(): void {
    this.#feedDownSince = undefined;
    this.invalidateAll();
  }

  /**
   * The remembered-token fast path: the entry whose stored hash `token` has already matched, if
   * it is fresh. SHA-256 is most of the cost of a request, so an entry remembers the token its
   * hash accepted, and a later request with the very same token skips the format and compare
   * steps: it is compared with the remembered one, in constant time. The token lives only in
   * this process's cache, as long as the entry does; the store keeps hashes only. The entry is
   * found with `peek`, so that a token that is not the remembered one leaves its place in the
   * LRU as it was; a match marks it recently used.
   */
  remembered(token: string, now: number): KnownKey | undefined {
    let entry: KnownKey | undefined;
    if (token.length === KEY_LENGTH) {
      entry = this.#fresh(this.#known?.peek(keyIdPosition(token)), now);
    } else if (token.length <= SIGNED_KEY_MAX_LENGTH && hasSignedKeyPrefix(token)) {
      // A signed key: its length is not secret (every key of one issuer has about the same),
      // so only a remembered token of the same length is compared, in constant time.
      entry = this.#fresh(this.#known?.peek(signedKeyIdPosition(token)), now);
    }
    const remembered = entry?.remembered?.bytes;
    if (remembered === undefined || !equalInConstantTime(token, remembered)) return undefined;
    this.#known!.get(entry!.id);
    return entry;
  }

  /** The entry of `id` while it is fresh; a stale one is dropped (the store is asked). */
  cached(id: string, now: number): KnownKey | undefined {
    return this.#fresh(this.#known?.get(id), now);
  }

  /**
   * What is known of `id`: `UNKNOWN` while the negative cache says so, else the lookup under
   * way for it, else a new store call, which fills the caches when it settles.
   */
  lookup(id: string, now: number): Promise<LookupOutcome> | LookupOutcome {
    const unknownUntil = this.#unknown?.get(id);
    if (unknownUntil !== undefined) {
      if (now < unknownUntil) return UNKNOWN;
      this.#unknown!.delete(id);
    }
    const waiting = this.#inflight.get(id);
    if (waiting !== undefined) return waiting;
    const pending: Promise<LookupOutcome> = this.#fetch(id).then((outcome) => {
      // Only a lookup still current fills the caches: `invalidate` may have dropped this one
      // because the key changed while it ran. It still answers the requests that wait on it.
      if (this.#inflight.get(id) === pending) {
        this.#inflight.delete(id);
        if (outcome === UNKNOWN) this.#unknown?.set(id, this.#now() + this.#negativeTtlMs);
        else if (!(outcome instanceof AuthUnavailableError) && this.#known !== undefined) {
          outcome.freshUntilMs = this.#now() + this.#ttlMs;
          this.#known.set(id, outcome);
        }
      }
      return outcome;
    });
    this.#inflight.set(id, pending);
    return pending;
  }

  /** Forgets what the caches hold about `keyId`; the next request asks the store. */
  invalidate(keyId: string): void {
    this.#known?.delete(keyId);
    this.#unknown?.delete(keyId);
    // A lookup under way may carry the state from before the change: let it answer the
    // requests that wait on it, but not fill the cache.
    this.#inflight.delete(keyId);
  }

  /** Forgets everything; a feed asks for this after a gap in which it may have missed changes. */
  invalidateAll(): void {
    this.#known?.clear();
    this.#unknown?.clear();
    this.#inflight.clear();
  }

  /** Stops listening to the change feed. */
  close(): void {
    this.#unsubscribe?.();
  }

  /**
   * `known` while it may be trusted: until its TTL ends, and while the feed is down, for at
   * most `feedOutageTtlMs` from the later of the outage's start and the entry's lookup. A stale
   * entry is dropped (the store is asked).
   */
  #fresh(known: KnownKey | undefined, now: number): KnownKey | undefined {
    if (known === undefined) return undefined;
    let until = known.freshUntilMs;
    const downSince = this.#feedDownSince;
    if (downSince !== undefined) {
      const lookedUpAt = until - this.#ttlMs;
      until = Math.min(until, Math.max(lookedUpAt, downSince) + this.#feedOutageTtlMs);
    }
    if (now < until) return known;
    this.#known!.delete(known.id);
    return undefined;
  }
}
