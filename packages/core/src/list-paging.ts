import { KeyManagementError } from './errors.js';
import type { ApiKeyRecord, KeyPage, ListKeysQuery } from './store-types.js';
import { KEY_STATUSES } from './store-types.js';

/** Most items a store returns for one `list` call; `KeyManager` asks for 1 to this many. */
export const LIST_LIMIT_MAX = 1000;

/** Where a listing page ended: stores order keys newest first, ties broken by id. */
export interface ListPosition {
  readonly createdAt: Date;
  readonly id: string;
}

/**
 * A listing query, checked as every store must check it: `limit` an integer from 1 to
 * `LIST_LIMIT_MAX`, `status` one of the three, `now` a valid date where the status needs one, and
 * the cursor one a store returned. Returns the position the cursor names, if any. Failures are
 * `KeyManagementError('invalid_key_parameters')`.
 */
export function checkListQuery(query: ListKeysQuery): ListPosition | undefined {
  const { limit, status, now, cursor } = query;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
    throw invalid(`limit must be an integer from 1 to ${LIST_LIMIT_MAX}`);
  }
  if (status !== undefined && !KEY_STATUSES.includes(status)) {
    throw invalid(`status must be active, revoked or expired; got ${String(status)}`);
  }
  if (
    (status === 'active' || status === 'expired') &&
    !(now instanceof Date && Number.isFinite(now.getTime()))
  ) {
    throw invalid('now must be a valid Date');
  }
  return cursor === undefined ? undefined : decodeListCursor(cursor);
}

/**
 * A page from the first `limit + 1` items of a listing (newest first): the first `limit`, and
 * a cursor when there were more.
 */
export function pageOf<T>(
  fetched: readonly T[],
  limit: number,
  toRecord: (row: T) => ApiKeyRecord,
): KeyPage {
  const items = fetched.slice(0, limit).map(toRecord);
  const last = items.at(-1);
  return fetched.length > limit && last !== undefined
    ? { items, nextCursor: encodeListCursor(last) }
    : { items };
}

/** Newest first; ties broken by id so that paging is stable. */
export function newestFirst(a: ListPosition, b: ListPosition): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The cursor is opaque to callers: the position of the last item of the page. Stores that order
 * like the memory store (newest first, then id) share this encoding.
 */
export function encodeListCursor(position: ListPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}:${position.id}`).toString('base64url');
}

/** The position a cursor names; throws `invalid_key_parameters` if no store made it. */
export function decodeListCursor(cursor: string): ListPosition {
  const text = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const separator = text.indexOf(':');
  const createdAt = new Date(Number(text.slice(0, separator)));
  const id = text.slice(separator + 1);
  if (separator < 1 || id.length === 0 || Number.isNaN(createdAt.getTime())) {
    throw invalid('cursor is not one this store returned');
  }
  return { createdAt, id };
}

function invalid(detail: string): KeyManagementError {
  return new KeyManagementError('invalid_key_parameters', detail);
}
