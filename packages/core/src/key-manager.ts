import { publishChange, warnUnpublished } from './change-publish.js';
import { ConfigurationError, KeyManagementError } from './errors.js';
import type { HashingOptions } from './hashing.js';
import { KeyHasher, storedKeyKind } from './hashing.js';
import { IssuedKey, type RotatedKey } from './issued-key.js';
import type { KeyEnvironment } from './key-format.js';
import { generateApiKey, generateKeyId, isKeyEnvironment } from './key-format.js';
import type {
  ApiKeyInfo,
  CreateKeyInput,
  ListKeysInput,
  RotateKeyInput,
  WorkspaceGuard,
} from './key-manager-inputs.js';
import {
  expiryFor,
  futureDate,
  INPUT_FIELDS,
  inputObject,
  invalid,
  keyNotFoundError,
  keyRateLimit,
  MAX_OVERLAP_MS,
  NAME_MAX,
  representableDate,
  requireText,
} from './key-manager-inputs.js';
import { LIST_LIMIT_MAX } from './list-paging.js';
import { rejectUnknownOptions } from './options.js';
import type { RateLimitPolicy } from './rate-limit.js';
import { activeSuccessorOf } from './rotation.js';
import type { Scope } from './scopes.js';
import { isScope, SCOPES } from './scopes.js';
import type { KeyKind } from './signed-key.js';
import type { SigningKeysOptions } from './signing.js';
import { SigningKeys } from './signing.js';
import type { ApiKeyRecord, KeyChangeFeed, KeyStore } from './store-types.js';
import { KEY_STATUSES, keyStatus } from './store-types.js';
import { MAX_TIMER_MS, positiveInteger } from './validate.js';

export interface KeyManagerOptions {
  readonly store: KeyStore;
  /** Peppers to hash new keys with; the authenticators must be given the same. */
  readonly hashing?: HashingOptions;
  /** Environment of new keys unless `create` says otherwise. Default `"live"`. */
  readonly environment?: KeyEnvironment;
  /**
   * The issuer's signing keys (`createSigningKeys(...)`, or its options), needed to create and
   * rotate signed keys (`kind: 'signed'`).
   */
  readonly signing?: SigningKeys | SigningKeysOptions;
  /**
   * Told of every created, revoked and rotated key, so authenticators drop stale cache entries.
   * Default: the store's own feed (`store.changes`), if it has one.
   */
  readonly changeFeed?: KeyChangeFeed;
  /**
   * Longest wait for the change feed to take a change, in ms. A feed that has not taken it by
   * then (Redis down, its client queueing commands offline) is given up on: the call returns with
   * the change saved, and `onError` is told (`ChangeFeedTimeoutError`). Default 1,000.
   */
  readonly publishTimeoutMs?: number;
  /**
   * Called when the change feed could not be told of a change (it failed, or did not answer
   * within `publishTimeoutMs`). The change itself is saved and returned; other instances then
   * see it within their cache TTL. Default: a process warning, so that it is never silent.
   */
  readonly onError?: (
    error: unknown,
    context: { operation: 'publish'; keyIds: readonly string[] },
  ) => void;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

const KEY_MANAGER_OPTIONS = [
  'store',
  'hashing',
  'environment',
  'signing',
  'changeFeed',
  'publishTimeoutMs',
  'onError',
  'now',
];

/** Issues, lists, revokes and rotates keys. Every change is published to the change feed. */
export class KeyManager {
  readonly #store: KeyStore;
  readonly #hasher: KeyHasher;
  readonly #signing: SigningKeys | undefined;
  readonly #environment: KeyEnvironment;
  readonly #feed: KeyChangeFeed | undefined;
  readonly #publishTimeoutMs: number;
  readonly #onError: NonNullable<KeyManagerOptions['onError']>;
  readonly #now: () => number;

  constructor(options: KeyManagerOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('options are required: createKeyManager({ store })');
    }
    rejectUnknownOptions(options, KEY_MANAGER_OPTIONS);
    const store = options.store;
    const needed = ['findById', 'insert', 'list', 'update'] as const;
    if (
      store === null ||
      typeof store !== 'object' ||
      needed.some((m) => typeof store[m] !== 'function')
    ) {
      throw new ConfigurationError(`store must be a KeyStore with ${needed.join(', ')} methods`);
    }
    this.#store = store;
    this.#hasher = new KeyHasher(options.hashing);
    const { signing } = options;
    this.#signing =
      signing === undefined || signing instanceof SigningKeys ? signing : new SigningKeys(signing);
    this.#environment = options.environment === undefined ? 'live' : options.environment;
    if (!isKeyEnvironment(this.#environment)) {
      throw new ConfigurationError('environment must be "live" or "test"');
    }
    const feed = options.changeFeed === undefined ? store.changes : options.changeFeed;
    if (feed !== undefined && typeof feed?.publish !== 'function') {
      throw new ConfigurationError('changeFeed must have a publish(keyIds) method');
    }
    this.#feed = feed;
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new ConfigurationError('onError must be a function');
    }
    this.#onError = options.onError ?? warnUnpublished;
    this.#publishTimeoutMs = positiveInteger(
      options.publishTimeoutMs,
      'publishTimeoutMs',
      1_000,
      MAX_TIMER_MS,
    );
    this.#now = options.now === undefined ? Date.now : options.now;
    if (typeof this.#now !== 'function') throw new ConfigurationError('now must be a function');
  }

  /** Issues a key. The plaintext is in the result only; the store keeps its hash. */
  async create(given: CreateKeyInput): Promise<IssuedKey> {
    if (given === undefined) throw invalid('create needs { workspaceId, name, scope }');
    const input = inputObject(given, INPUT_FIELDS.create, 'the key to create');
    const now = this.#now();
    const workspaceId = requireText(input.workspaceId, 'workspaceId', 200);
    const name = requireText(input.name, 'name', NAME_MAX);
    if (!isScope(input.scope)) {
      throw invalid(`scope must be one of ${SCOPES.join(', ')}`);
    }
    const kind = input.kind ?? 'opaque';
    if (kind !== 'opaque' && kind !== 'signed') throw invalid('kind must be "opaque" or "signed"');
    this.#requireSigning(kind);
    const expiresAt = expiryFor(kind, futureDate(input.expiresAt, now, 'expiresAt'), now);
    const environment = input.environment ?? this.#environment;
    if (!isKeyEnvironment(environment)) throw invalid('environment must be "live" or "test"');
    const issued = await this.#insert({
      kind,
      workspaceId,
      name,
      scope: input.scope,
      environment,
      expiresAt,
      rotatedFromId: null,
      rateLimit: keyRateLimit(input.rateLimit),
      now,
    });
    await this.#publish([issued.record.id]);
    return issued;
  }

  /** The key with `id`, or `undefined` (also when it belongs to another workspace than the guard's). */
  async get(id: string, guard?: WorkspaceGuard): Promise<ApiKeyInfo | undefined> {
    const record = await this.#find(id, guard);
    return record === undefined ? undefined : this.#info(record, this.#now());
  }

  /** Keys, newest first, one page at a time. */
  async list(given?: ListKeysInput): Promise<{ items: ApiKeyInfo[]; nextCursor?: string }> {
    const input = inputObject(given, INPUT_FIELDS.list, 'the listing');
    const limit = input.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
      throw invalid(`limit must be an integer from 1 to ${LIST_LIMIT_MAX}`);
    }
    if (input.status !== undefined && !KEY_STATUSES.includes(input.status)) {
      throw invalid('status must be active, revoked or expired');
    }
    const now = this.#now();
    const page = await this.#store.list({
      workspaceId: input.workspaceId,
      status: input.status,
      cursor: input.cursor,
      limit,
      now: new Date(now),
    });
    const items = page.items.map((record) => this.#info(record, now));
    return page.nextCursor === undefined ? { items } : { items, nextCursor: page.nextCursor };
  }

  /** Revokes a key at once. Revoking a revoked key changes nothing and returns it. */
  async revoke(id: string, guard?: WorkspaceGuard): Promise<ApiKeyInfo> {
    const record = await this.#require(id, guard);
    const now = this.#now();
    if (record.revokedAt !== null) return this.#info(record, now);
    const updated = await this.#store.update(id, { revokedAt: new Date(now) });
    if (updated === undefined) throw keyNotFoundError(id);
    await this.#publish([id]);
    return this.#info(updated, now);
  }

  /**
   * Sets the key's own request rate, or with `null` returns it to its scope's default. Every
   * authenticator on the change feed applies it at the key's next request.
   */
  async setRateLimit(
    id: string,
    rateLimit: RateLimitPolicy | null,
    guard?: WorkspaceGuard,
  ): Promise<ApiKeyInfo> {
    const policy = keyRateLimit(rateLimit);
    await this.#require(id, guard);
    const updated = await this.#store.update(id, { rateLimit: policy });
    if (updated === undefined) throw keyNotFoundError(id);
    await this.#publish([id]);
    return this.#info(updated, this.#now());
  }

  /**
   * Issues a successor with the same workspace, name, scope, environment and rate, and makes the old
   * key expire after `overlapMs` (0: now), so clients can switch without a failed request.
   */
  async rotate(id: string, given?: RotateKeyInput): Promise<RotatedKey> {
    const input = inputObject(given, INPUT_FIELDS.rotate, 'the rotation');
    const overlapMs = input.overlapMs ?? 0;
    if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS) {
      throw invalid(`overlapMs must be an integer from 0 to ${MAX_OVERLAP_MS} (366 days)`);
    }
    const old = await this.#require(
      id,
      input.workspaceId === undefined ? {} : { workspaceId: input.workspaceId },
    );
    const now = this.#now();
    if (keyStatus(old, now) !== 'active') {
      const status = keyStatus(old, now);
      throw new KeyManagementError('api_key_not_active', `API key ${old.id} is ${status}`);
    }
    const kind = storedKeyKind(old.hash);
    this.#requireSigning(kind);
    // Inside its overlap, a key's expiry is the overlap's end: a second successor would inherit
    // that shortened lifetime, and two keys would claim to replace it.
    const successor = await activeSuccessorOf(this.#store, old, now);
    if (successor !== undefined) {
      throw new KeyManagementError(
        'api_key_already_rotated',
        `API key ${old.id} was already rotated: its successor ${successor.id} is active, and ${old.id} stops at ${old.expiresAt?.toISOString() ?? 'its revocation'}. Rotate ${successor.id} instead, or revoke ${old.id} to end the overlap now`,
      );
    }
    const successorExpiry = expiryFor(
      kind,
      input.expiresAt !== undefined
        ? futureDate(input.expiresAt, now, 'expiresAt')
        : old.expiresAt === null
          ? null
          : representableDate(now + (old.expiresAt.getTime() - old.createdAt.getTime())),
      now,
    );
    const issued = await this.#insert({
      kind,
      workspaceId: old.workspaceId,
      name: old.name,
      scope: old.scope,
      environment: old.environment,
      expiresAt: successorExpiry,
      rotatedFromId: old.id,
      rateLimit: old.rateLimit ?? null,
      now,
    });
    const overlapEnd = now + overlapMs;
    const oldExpiry =
      old.expiresAt !== null && old.expiresAt.getTime() < overlapEnd
        ? old.expiresAt
        : new Date(overlapEnd);
    let previous: ApiKeyRecord | undefined;
    try {
      previous = await this.#store.update(id, { expiresAt: oldExpiry });
    } catch (error) {
      await this.#withdraw(issued, now);
      throw error;
    }
    if (previous === undefined) {
      // The old key vanished between reading and updating it: no rotation took place.
      await this.#withdraw(issued, now);
      throw keyNotFoundError(id);
    }
    await this.#publish([id, issued.record.id]);
    return { issued, previous: this.#info(previous, now) };
  }

  /**
   * Revokes a successor whose rotation failed, so that no active key exists whose plaintext
   * nobody holds. Best effort: the rotation's own error is what the caller needs to see.
   */
  async #withdraw(successor: IssuedKey, now: number): Promise<void> {
    await this.#store.update(successor.record.id, { revokedAt: new Date(now) }).catch(() => {});
  }

  /** A signed key needs the issuer's signing keys: a manager without them is misconfigured. */
  #requireSigning(kind: KeyKind): void {
    if (kind === 'signed' && this.#signing === undefined) {
      throw new ConfigurationError(
        'signed keys need a KeyManager with signing keys: createKeyManager({ store, signing })',
      );
    }
  }

  async #insert(fields: {
    kind: KeyKind;
    workspaceId: string;
    name: string;
    scope: Scope;
    environment: KeyEnvironment;
    expiresAt: Date | null;
    rotatedFromId: string | null;
    rateLimit: RateLimitPolicy | null;
    now: number;
  }): Promise<IssuedKey> {
    // Ids are 71 random bits; a collision is all but impossible, but the store's refusal of a
    // duplicate id is what makes it harmless. Try a fresh id a few times before giving up.
    for (let attempt = 1; ; attempt++) {
      const { id, token, hash } = await this.#mint(fields);
      const record: ApiKeyRecord = {
        id,
        workspaceId: fields.workspaceId,
        name: fields.name,
        scope: fields.scope,
        environment: fields.environment,
        hash,
        createdAt: new Date(fields.now),
        expiresAt: fields.expiresAt,
        revokedAt: null,
        lastUsedAt: null,
        rotatedFromId: fields.rotatedFromId,
        rateLimit: fields.rateLimit,
      };
      try {
        await this.#store.insert(record);
        return new IssuedKey(token, this.#info(record, fields.now));
      } catch (error) {
        const duplicate = error instanceof KeyManagementError && error.code === 'duplicate_key_id';
        if (!duplicate || attempt >= 3) throw error;
      }
    }
  }

  /**
   * A new key's id, plaintext and stored hash. A signed key is signed with the first signing
   * key and stored as the SHA-256 of the whole token (`jws-sha256$…`): a stolen table holds
   * neither a usable key nor a signing key, and cannot make one.
   */
  async #mint(fields: {
    kind: KeyKind;
    workspaceId: string;
    scope: Scope;
    environment: KeyEnvironment;
    expiresAt: Date | null;
    now: number;
  }): Promise<{ id: string; token: string; hash: string }> {
    if (fields.kind === 'opaque') {
      const { id, token } = generateApiKey(fields.environment);
      return { id, token, hash: this.#hasher.hash(token) };
    }
    const id = generateKeyId();
    const token = await this.#signing!.signKey({
      id,
      environment: fields.environment,
      workspaceId: fields.workspaceId,
      scope: fields.scope,
      issuedAt: fields.now,
      expiresAt: fields.expiresAt === null ? null : fields.expiresAt.getTime(),
    });
    return { id, token, hash: this.#hasher.hashSignedKey(token) };
  }

  async #find(id: string, given: WorkspaceGuard | undefined): Promise<ApiKeyRecord | undefined> {
    const guard = inputObject(given, INPUT_FIELDS.guard, 'the workspace guard');
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const record = await this.#store.findById(id);
    if (record === null || record === undefined) return undefined;
    if (guard.workspaceId !== undefined && record.workspaceId !== guard.workspaceId)
      return undefined;
    return record;
  }

  async #require(id: string, guard: WorkspaceGuard | undefined): Promise<ApiKeyRecord> {
    const record = await this.#find(id, guard);
    if (record === undefined) throw keyNotFoundError(id);
    return record;
  }

  /**
   * Tells the change feed. Best effort: the change is already saved and its result (perhaps a
   * plaintext key shown only now) must reach the caller, so a failure goes to `onError`.
   */
  async #publish(keyIds: readonly string[]): Promise<void> {
    if (this.#feed === undefined) return;
    await publishChange(this.#feed, keyIds, this.#publishTimeoutMs, this.#onError);
  }

  #info(record: ApiKeyRecord, now: number): ApiKeyInfo {
    return {
      id: record.id,
      kind: storedKeyKind(record.hash),
      workspaceId: record.workspaceId,
      name: record.name,
      scope: record.scope,
      environment: record.environment,
      status: keyStatus(record, now),
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      revokedAt: record.revokedAt,
      lastUsedAt: record.lastUsedAt,
      rotatedFromId: record.rotatedFromId,
      rateLimit: record.rateLimit ?? null,
    };
  }
}

export function createKeyManager(options: KeyManagerOptions): KeyManager {
  return new KeyManager(options);
}
