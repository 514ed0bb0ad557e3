import { createHash } from 'node:crypto';
import { ConfigurationError } from '@orkesta/auth';

/** The schema the store uses unless told otherwise. */
export const DEFAULT_SCHEMA = 'orkesta_auth';

/** PostgreSQL keeps at most this many bytes of an identifier (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * `value` when it is a plain lowercase identifier PostgreSQL accepts as a schema name, else a
 * ConfigurationError saying what would be accepted. The store interpolates it into SQL only after
 * this check, and always quoted.
 */
export function validateSchemaName(value: unknown, name = 'schema'): string {
  if (value === undefined) return DEFAULT_SCHEMA;
  if (
    typeof value !== 'string' ||
    !PLAIN_IDENTIFIER.test(value) ||
    value.length > MAX_IDENTIFIER_BYTES ||
    value.startsWith('pg_')
  ) {
    throw new ConfigurationError(
      `${name} must be a plain identifier: 1 to 63 characters of a-z, 0-9 and _, starting with a letter or _, not pg_…; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** `value` when it can name a LISTEN/NOTIFY channel, else a ConfigurationError. */
export function validateChannel(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.includes('\0') ||
    Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES
  ) {
    throw new ConfigurationError(
      `channel must be a non-empty string of at most 63 bytes (a PostgreSQL identifier); got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * The change-feed channel of a schema: `orkesta_auth.<schema>`, or a digest of the schema name
 * when that would be too long. Different schemas never share a channel.
 */
export function defaultChannel(schema: string): string {
  const readable = `orkesta_auth.${schema}`;
  if (readable.length <= MAX_IDENTIFIER_BYTES) return readable;
  return `orkesta_auth.${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** `name` as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
