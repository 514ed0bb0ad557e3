import { AuthUnavailableError, StoreTimeoutError } from '../errors.js';
import type { LookupEvent, LookupResult } from '../hooks.js';
import type { KeyLookup, StoredKey } from '../store-types.js';
import type { KnownKey } from '../stored-record.js';
import { within } from '../timeout.js';

/** An unknown id: what a lookup that found nothing gives, and what the negative cache keeps. */
export const UNKNOWN = false;

/** What the lookup step gives: the decoded record, `UNKNOWN`, or the store's failure. */
export type LookupOutcome = KnownKey | typeof UNKNOWN | AuthUnavailableError;

export interface StoreCall {
  readonly store: KeyLookup;
  readonly timeoutMs: number;
  /** `Retry-After` of the 503, in seconds. */
  readonly retryAfterSeconds: number;
  /** Checks a record (see `decodeStoredKey`); throws `StoredRecordError` for a bad one. */
  readonly decode: (id: string, record: StoredKey) => KnownKey;
  /** Told of the failure behind every 503: the store's error, a timeout, a bad record. */
  readonly report: (error: unknown, keyId: string) => void;
  /** Told of every store call once it has ended (`onLookup`). */
  readonly observe: (event: LookupEvent) => void;
}

/**
 * The lookup step's store call (the key cache asks it on a miss): `findById`, bounded by the
 * timeout. Never rejects: a store that throws, rejects, times out or returns a record that makes
 * no sense fails closed as `AuthUnavailableError` (503 `auth_unavailable`), reported first.
 * Every call is observed once it ends, with its duration on `performance.now()`: a monotonic
 * clock, unlike the authenticator's `now` (wall time, which steps, and which tests freeze).
 */
export async function lookUpInStore(call: StoreCall, id: string): Promise<LookupOutcome> {
  const started = performance.now();
  let found: StoredKey | null | undefined;
  let failed: { readonly error: unknown } | undefined;
  try {
    found = await within(
      () => call.store.findById(id),
      call.timeoutMs,
      () => new StoreTimeoutError(call.timeoutMs),
    );
  } catch (error) {
    failed = { error };
  }
  const durationMs = performance.now() - started;
  const observe = (result: LookupResult): void => call.observe({ keyId: id, durationMs, result });
  if (failed !== undefined) {
    observe(failed.error instanceof StoreTimeoutError ? 'timeout' : 'error');
    return unavailable(call, failed.error, id);
  }
  if (found === null || found === undefined) {
    observe('not_found');
    return UNKNOWN;
  }
  try {
    const known = call.decode(id, found);
    observe('found');
    return known;
  } catch (error) {
    observe('error');
    return unavailable(call, error, id);
  }
}

function unavailable(call: StoreCall, error: unknown, id: string): AuthUnavailableError {
  call.report(error, id);
  return new AuthUnavailableError(call.retryAfterSeconds, id);
}
