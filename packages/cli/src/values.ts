import { DURATION_UNITS } from './commands.js';

/** A mistake in the command line: exit 2, with a pointer to the command's help. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The words a usage error gives for what a duration looks like. */
export const DURATION_FORM = `a whole number and a unit, like 90d or 24h (units ${DURATION_UNITS})`;

/**
 * `90d`, `24h`, `30m`, `45s` in milliseconds (and `0`, no unit needed): a whole number and one
 * unit, at most `maxMs` (`maxText` says it to the user). Throws a UsageError naming `flag` for
 * anything else: a negative duration does not exist, and one too long names the most it can be.
 */
export function parseDuration(value: string, flag: string, maxMs: number, maxText: string): number {
  if (value === '0') return 0;
  const match = /^(\d+)([smhd])$/.exec(value);
  if (match === null) {
    const negative = /^-\d/.test(value) ? ' (a duration cannot be negative)' : '';
    throw new UsageError(
      `${flag} must be ${DURATION_FORM}${negative}; got ${JSON.stringify(value)}`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms) || ms > maxMs) {
    throw new UsageError(`${flag} ${value} is too long: the most it can be is ${maxText}`);
  }
  return ms;
}

// A calendar date, optionally with a time and then a zone (Z or ±hh:mm). A time without a zone
// is refused: whether it means UTC or this machine's time would be a guess.
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * An ISO-8601 instant, in the future of `now`: `2030-01-31` (midnight UTC), or a date and time
 * with `Z` or an offset. Throws a UsageError naming `flag` for anything else.
 */
export function parseFutureInstant(value: string, flag: string, now: number): Date {
  const match = ISO_8601.exec(value);
  const wanted = `${flag} must be an ISO-8601 date (2030-01-31) or date and time with Z or an offset (2030-01-31T12:00:00Z)`;
  if (match === null) throw new UsageError(`${wanted}; got ${JSON.stringify(value)}`);
  const [, year, month, day, hour, minute, second, zone] = match;
  if (hour !== undefined && zone === undefined) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} has a time but no zone: add Z (UTC) or an offset like +02:00`,
    );
  }
  // Date.parse rolls 2030-02-30 over into March: check the fields are a real date and time.
  const fields = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
  );
  const back = new Date(fields);
  const exists =
    back.getUTCFullYear() === Number(year) &&
    back.getUTCMonth() === Number(month) - 1 &&
    back.getUTCDate() === Number(day) &&
    back.getUTCHours() === Number(hour ?? 0) &&
    back.getUTCMinutes() === Number(minute ?? 0) &&
    back.getUTCSeconds() === Number(second ?? 0);
  const date = new Date(value);
  if (!exists || Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a real date and time`);
  }
  if (date.getTime() <= now) {
    throw new UsageError(`${flag} ${date.toISOString()} is in the past: give a future instant`);
  }
  return date;
}

/** The last instant a key's expiry can name (the last a JavaScript Date holds). */
const LAST_INSTANT_MS = 8.64e15;

/** The longest `--ttl` from `now`, in ms, and how to say it: whole days. */
export function longestTtl(now: number): { ms: number; text: string } {
  const days = Math.floor((LAST_INSTANT_MS - now) / UNIT_MS.d);
  return { ms: days * UNIT_MS.d, text: `${days}d (the last date a key's expiry can name)` };
}

/** `value` when it is one of `allowed`, else a UsageError listing them. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`,
  );
}
