import { ConfigurationError } from './errors.js';

/** Longest delay `setTimeout` honours; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `value` when it is a positive integer no greater than `max`, `fallback` when undefined;
 * otherwise a ConfigurationError.
 */
export function positiveInteger(
  value: unknown,
  name: string,
  fallback: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new ConfigurationError(
      `${name} must be a positive integer no greater than ${max}; got ${String(value)}`,
    );
  }
  return value;
}

/** `value` when it is a boolean, `fallback` when undefined; else a ConfigurationError. */
export function optionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ConfigurationError(`${name} must be true or false; got ${String(value)}`);
  }
  return value;
}

/**
 * A `Date`, epoch milliseconds or a non-empty date string as a valid Date (a new object);
 * `undefined` for anything else. Databases hand dates back in all three forms.
 */
export function toDate(value: unknown): Date | undefined {
  const date =
    value instanceof Date ||
    typeof value === 'number' ||
    (typeof value === 'string' && value !== '')
      ? new Date(value)
      : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
}
