/**
 * The schema version this package writes and reads, kept in the file's `PRAGMA user_version`.
 * Opening a file of a lower version migrates it; a higher one is refused.
 */
export const SCHEMA_VERSION = 1;

/** Rows of the `key_changes` table (the cross-process change feed) older than this are pruned. */
export const CHANGE_RETENTION_MS = 60 * 60 * 1000;

/** A publishing handle prunes old `key_changes` rows at most this often. */
export const PRUNE_EVERY_MS = 60 * 1000;
