import { ConfigurationError } from '@orkesta/auth';
import { MAX_TIMER_MS, positiveInteger, rejectUnknownOptions } from '@orkesta/auth/store';

/** Options of `new SqliteKeyStore(options)`. */
export interface SqliteKeyStoreOptions {
  /**
   * The database file, or `':memory:'` for a store that lives and dies with this handle. The
   * parent directory is created if missing.
   */
  readonly filename: string;
  /**
   * How often, in milliseconds, this handle checks for changes published by other processes on
   * the same file, while something listens to its `changes`. Default 250.
   */
  readonly pollIntervalMs?: number | undefined;
  /**
   * How long, in milliseconds, a statement waits for another process's write lock before it
   * fails with `SQLITE_BUSY`. Default 5000.
   */
  readonly busyTimeoutMs?: number | undefined;
  /**
   * Called with what goes wrong in the background: a failed change-feed poll (retried on the
   * next tick, nothing is lost) or a feed listener that threw (the other listeners are told
   * all the same). Default: a failed poll is ignored, a throwing listener is a process warning.
   */
  readonly onFeedError?: ((error: unknown) => void) | undefined;
}

export interface ResolvedOptions {
  readonly filename: string;
  readonly pollIntervalMs: number;
  readonly busyTimeoutMs: number;
  /** As given: the feed's listeners fall back to a process warning without it. */
  readonly onFeedError: ((error: unknown) => void) | undefined;
}

export const DEFAULT_POLL_INTERVAL_MS = 250;
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const OPTION_NAMES: readonly (keyof SqliteKeyStoreOptions)[] = [
  'filename',
  'pollIntervalMs',
  'busyTimeoutMs',
  'onFeedError',
];

/** Checks the options once, at construction; a wrong one is a ConfigurationError. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options = typeof input === 'string' ? { filename: input } : input;
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError(
      "SqliteKeyStore needs options: new SqliteKeyStore({ filename: 'path/to/keys.db' })",
    );
  }
  rejectUnknownOptions(options, OPTION_NAMES);
  const { filename, pollIntervalMs, busyTimeoutMs, onFeedError } = options as Record<
    string,
    unknown
  >;
  if (typeof filename !== 'string' || filename.length === 0 || filename.includes('\0')) {
    throw new ConfigurationError(
      `filename must be a non-empty path to the database file, or ':memory:'; got ${
        typeof filename === 'string' ? JSON.stringify(filename) : typeof filename
      }`,
    );
  }
  if (onFeedError !== undefined && typeof onFeedError !== 'function') {
    throw new ConfigurationError('onFeedError must be a function (error) => void');
  }
  return {
    filename,
    pollIntervalMs: positiveInteger(
      pollIntervalMs,
      'pollIntervalMs',
      DEFAULT_POLL_INTERVAL_MS,
      MAX_TIMER_MS,
    ),
    busyTimeoutMs: positiveInteger(
      busyTimeoutMs,
      'busyTimeoutMs',
      DEFAULT_BUSY_TIMEOUT_MS,
      MAX_TIMER_MS,
    ),
    onFeedError: onFeedError as ((error: unknown) => void) | undefined,
  };
}
