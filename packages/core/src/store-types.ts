import type { StoredHash } from './hashing.js';
import type { KeyEnvironment } from './key-format.js';
import type { RateLimitPolicy } from './rate-limit.js';
import type { Scope } from './scopes.js';

/**
 * What authentication needs to know of a key. A store for authentication only returns this;
 * dates may be `Date`, epoch milliseconds or ISO-8601 strings, as databases hand them back.
 */
export interface StoredKey {
  readonly id: string;
  readonly workspaceId: string;
  readonly scope: Scope;
  /** The stored hash (`sha256$…` or `hmac-sha256$<pepper id>$…`), never the plaintext. */
  readonly hash: StoredHash;
  readonly expiresAt?: Date | number | string | null | undefined;
  readonly revokedAt?: Date | number | string | null | undefined;
  /** The key's own request rate, overriding its scope's default; none for the default. */
  readonly rateLimit?: RateLimitPolicy | null | undefined;
}

/** Everything kept about a key. */
export interface ApiKeyRecord extends StoredKey {
  readonly environment: KeyEnvironment;
  /** What the key is for, e.g. `production-erp-integration`. */
  readonly name: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  /** The key this one replaced through rotation. */
  readonly rotatedFromId: string | null;
}

/**
 * All that authentication needs: one method. Return `null`/`undefined` for an unknown id;
 * throw (or reject) when the store cannot answer, and requests get 503 `auth_unavailable`.
 */
export interface KeyLookup {
  findById(id: string): Promise<StoredKey | null | undefined> | StoredKey | null | undefined;
  /**
   * The store's own change feed, if it has one. Authenticators and key managers use it unless
   * they are given a `changeFeed`, so revoking through the library reaches every cache on the
   * same store without further wiring.
   */
  readonly changes?: KeyChangeFeed | undefined;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

/** Every status, in the order listings name them. */
export const KEY_STATUSES: readonly KeyStatus[] = ['active', 'revoked', 'expired'];

export interface ListKeysQuery {
  readonly workspaceId?: string | undefined;
  readonly status?: KeyStatus | undefined;
  /** The instant `status` is judged at. */
  readonly now: Date;
  /** At most this many items (1 to 1000). */
  readonly limit: number;
  /** Where the previous page ended: the `nextCursor` it returned. */
  readonly cursor?: string | undefined;
}

export interface KeyPage {
  /** Newest first. */
  readonly items: readonly ApiKeyRecord[];
  /** Present when more items follow. */
  readonly nextCursor?: string | undefined;
}

export interface KeyChanges {
  readonly revokedAt?: Date;
  readonly expiresAt?: Date | null;
  /** `null` removes the key's own rate, leaving its scope's default. */
  readonly rateLimit?: RateLimitPolicy | null;
}

/** What key management needs besides lookup. */
export interface KeyStore extends KeyLookup {
  findById(id: string): Promise<ApiKeyRecord | null | undefined>;
  /** Adds a key; rejects with `KeyManagementError('duplicate_key_id')` if the id exists. */
  insert(record: ApiKeyRecord): Promise<void>;
  list(query: ListKeysQuery): Promise<KeyPage>;
  /** Applies `changes` and returns the updated record, or `undefined` for an unknown id. */
  update(id: string, changes: KeyChanges): Promise<ApiKeyRecord | undefined>;
  /** Moves each key's `lastUsedAt` forward to the given instant (never backward). */
  recordLastUsed(batch: ReadonlyMap<string, Date>): Promise<void>;
}

/** A key's status at `now`: revoked wins over expired. */
export function keyStatus(
  key: Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt'>,
  now: Date | number,
): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && +now >= key.expiresAt.getTime()) return 'expired';
  return 'active';
}

/** Tells every authenticator which keys changed, so they drop them from their caches. */
export interface KeyChangeFeed {
  publish(keyIds: readonly string[]): void | Promise<void>;
  /**
   * Calls `listener` with the ids of changed keys; returns the unsubscribe function. A feed
   * that lost its connection calls `onInterrupt` (changes may not arrive until it is back; the
   * subscriber trusts what it cached for a short time only). A feed that may have missed
   * changes (it got its connection back) calls `onReset`, and the subscriber forgets everything
   * it cached.
   */
  subscribe(
    listener: (keyIds: readonly string[]) => void,
    onReset?: () => void,
    onInterrupt?: () => void,
  ): () => void;
}
