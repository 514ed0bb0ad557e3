import type { ApiKeyInfo } from '@orkesta/auth';

/** A key as `--json` prints it: every field of `ApiKeyInfo`, dates as ISO-8601 strings. */
export interface KeyJson {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly scope: string;
  readonly environment: string;
  readonly status: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly rotatedFromId: string | null;
  readonly rateLimit: ApiKeyInfo['rateLimit'];
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export function keyJson(info: ApiKeyInfo): KeyJson {
  return {
    id: info.id,
    workspaceId: info.workspaceId,
    name: info.name,
    scope: info.scope,
    environment: info.environment,
    status: info.status,
    createdAt: info.createdAt.toISOString(),
    expiresAt: iso(info.expiresAt),
    revokedAt: iso(info.revokedAt),
    lastUsedAt: iso(info.lastUsedAt),
    rotatedFromId: info.rotatedFromId,
    rateLimit: info.rateLimit,
  };
}

/** A date for people: UTC to the second, `2030-01-31 12:00:00Z`. */
export function when(date: Date | null, none = '-'): string {
  return date === null ? none : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Control characters shown as `?`, so no stored text can move the cursor or forge a line. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control range is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Rows under a header, in columns two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((row) => row.map(printable));
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** The `keys list` table: id, name, scope, status, created, expires, last used. */
export function keyTable(keys: readonly ApiKeyInfo[], withWorkspace: boolean): string {
  const header = ['ID', 'NAME', 'SCOPE', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'];
  const rows = keys.map((k) => [
    k.id,
    k.name,
    k.scope,
    k.status,
    when(k.createdAt),
    when(k.expiresAt, 'never'),
    when(k.lastUsedAt, 'never'),
  ]);
  if (!withWorkspace) return table(header, rows);
  return table(
    ['ID', 'WORKSPACE', ...header.slice(1)],
    rows.map((row, i) => [row[0]!, keys[i]!.workspaceId, ...row.slice(1)]),
  );
}

/** `keys show`: one field a line. */
export function keyDetails(info: ApiKeyInfo): string {
  const rate =
    info.rateLimit === null
      ? "its scope's default"
      : `${info.rateLimit.limit} per ${info.rateLimit.windowSeconds}s${info.rateLimit.burst === undefined ? '' : `, burst ${info.rateLimit.burst}`}`;
  const fields: readonly (readonly [string, string])[] = [
    ['id', info.id],
    ['workspace', info.workspaceId],
    ['name', info.name],
    ['scope', info.scope],
    ['environment', info.environment],
    ['status', info.status],
    ['created', when(info.createdAt)],
    ['expires', when(info.expiresAt, 'never')],
    ['revoked', when(info.revokedAt, 'no')],
    ['last used', when(info.lastUsedAt, 'never')],
    ['rotated from', info.rotatedFromId ?? '-'],
    ['rate limit', rate],
  ];
  return fields.map(([label, value]) => `${label.padEnd(14)}${printable(value)}\n`).join('');
}

/**
 * Said under every listing that shows last-used times: servers record uses in batches (every
 * 30 s by default, `lastUsed.intervalMs`), so "never" may be a use not yet written.
 */
export const LAST_USED_NOTE =
  'LAST USED is written by the servers in batches (every 30 s by default): a key used just now may still say never.\n';
