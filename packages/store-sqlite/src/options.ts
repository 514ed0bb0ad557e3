import { ConfigurationError } from '@orkesta/auth';

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
   * next tick, nothing is lost) or a feed listener that threw. Default: ignored.
   */
  readonly onFeedError?: ((error: unknown) => void) | undefined;
}

export interface ResolvedOptions {
  readonly filename: string;
  readonly pollIntervalMs: number;
  readonly busyTimeoutMs: number;
  readonly onFeedError: (error: unknown) => void;
}

export const DEFAULT_POLL_INTERVAL_MS = 250;
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** Longest delay `setInterval` honours, and more than any busy timeout needs. */
const MAX_MS = 2 ** 31 - 1;
const KNOWN = new Set(['filename', 'pollIntervalMs', 'busyTimeoutMs', 'onFeedError']);

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > MAX_MS) {
    throw new ConfigurationError(
      `${name} must be a positive integer of milliseconds no greater than ${MAX_MS}; got ${String(value)}`,
    );
  }
  return value;
}

function ignore(): void {}

/** Checks the options once, at construction; a wrong one is a ConfigurationError. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options = typeof input === 'string' ? { filename: input } : input;
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError(
      "SqliteKeyStore needs options: new SqliteKeyStore({ filename: 'path/to/keys.db' })",
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new ConfigurationError(
        `unknown SqliteKeyStore option "${key}"; the options are ${[...KNOWN].join(', ')}`,
      );
    }
  }
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
    pollIntervalMs: positiveInteger(pollIntervalMs, 'pollIntervalMs', DEFAULT_POLL_INTERVAL_MS),
    busyTimeoutMs: positiveInteger(busyTimeoutMs, 'busyTimeoutMs', DEFAULT_BUSY_TIMEOUT_MS),
    onFeedError: (onFeedError as ((error: unknown) => void) | undefined) ?? ignore,
  };
}
