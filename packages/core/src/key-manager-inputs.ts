import { KeyManagementError } from './errors.js';
import type { KeyEnvironment } from './key-format.js';
import { isKeyIdForm } from './key-format.js';
import { closestName } from './options.js';
import type { RateLimitPolicy } from './rate-limit.js';
import { rateLimitRule } from './rate-limit.js';
import type { Scope } from './scopes.js';
import type { KeyKind } from './signed-key.js';
import type { KeyStatus } from './store-types.js';
import { toDate } from './validate.js';

/** A key as management shows it: everything but the hash, with its status now. */
export interface ApiKeyInfo {
  readonly id: string;
  /** `'opaque'` (`ork_…`) or `'signed'` (`orks_…`). */
  readonly kind: KeyKind;
  readonly workspaceId: string;
  readonly name: string;
  readonly scope: Scope;
  readonly environment: KeyEnvironment;
  readonly status: KeyStatus;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly rotatedFromId: string | null;
  /** The key's own request rate; `null` when its scope's default applies. */
  readonly rateLimit: RateLimitPolicy | null;
}

export interface CreateKeyInput {
  readonly workspaceId: string;
  /** What the key is for, e.g. `production-erp-integration`. 1 to 100 characters. */
  readonly name: string;
  readonly scope: Scope;
  /** Optional expiry: a `Date`, epoch ms or ISO-8601 string, in the future. */
  readonly expiresAt?: Date | number | string | null | undefined;
  readonly environment?: KeyEnvironment | undefined;
  /** The key's own request rate, instead of its scope's default. */
  readonly rateLimit?: RateLimitPolicy | null | undefined;
  /**
   * `'opaque'` (default): a random secret, hashed at rest. `'signed'`: a JWS signed with the
   * manager's `signing` keys, which services can verify with the public keys alone; its expiry
   * is whole seconds (`expiresAt` rounded down).
   */
  readonly kind?: KeyKind | undefined;
}

/** Restricts an operation to one workspace: a key of another workspace is "not found". */
export interface WorkspaceGuard {
  readonly workspaceId?: string | undefined;
}

export interface ListKeysInput extends WorkspaceGuard {
  readonly status?: KeyStatus | undefined;
  /** 1 to 1000; default 50. */
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
}

export interface RotateKeyInput extends WorkspaceGuard {
  /** How long the old key keeps working, in ms. Default 0: it stops at once. */
  readonly overlapMs?: number | undefined;
  /**
   * Expiry of the successor. Default: as long a life as the old key had from its creation, or
   * none if it had none.
   */
  readonly expiresAt?: Date | number | string | null | undefined;
}

export const NAME_MAX = 100;
/** The longest overlap a rotation may give the old key: a year and a day. */
export const MAX_OVERLAP_MS = 366 * 24 * 60 * 60 * 1000;

/** The fields each `KeyManager` call takes; anything else is refused, never ignored. */
export const INPUT_FIELDS = {
  create: ['workspaceId', 'name', 'scope', 'expiresAt', 'environment', 'rateLimit', 'kind'],
  list: ['workspaceId', 'status', 'limit', 'cursor'],
  rotate: ['workspaceId', 'overlapMs', 'expiresAt'],
  guard: ['workspaceId'],
} as const;

/**
 * Refuses a call's input with a field it does not know, as `invalid_key_parameters`: a
 * misspelt `expiresAt` would issue a key that never expires, a misspelt `overlapMs` would end
 * the old key at once. Names the field and the closest known one.
 */
export function rejectUnknownFields(input: object, known: readonly string[]): void {
  for (const field of Object.keys(input)) {
    if (known.includes(field)) continue;
    const suggestion = closestName(field, known);
    throw invalid(
      `unknown field "${field}"; ${suggestion === undefined ? `the fields are ${known.join(', ')}` : `did you mean "${suggestion}"?`}`,
    );
  }
}

/** `input` when it is an object (or `{}` when absent), with only `known` fields. */
export function inputObject<T extends object>(
  input: T | undefined,
  known: readonly string[],
  what: string,
): T {
  if (input === undefined) return {} as T;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(`${what} must be an object`);
  }
  rejectUnknownFields(input, known);
  return input;
}

export function invalid(detail: string): KeyManagementError {
  return new KeyManagementError('invalid_key_parameters', detail);
}

/**
 * `api_key_not_found` for `id`, naming the id only when it has an id's form: what was given may
 * be a whole key pasted where its id belongs, and the message goes to a client and to logs.
 */
export function keyNotFoundError(id: unknown): KeyManagementError {
  const which = isKeyIdForm(id) ? `with id ${id}` : 'with that id (a key id is 12 characters)';
  return new KeyManagementError('api_key_not_found', `no API key ${which}`);
}

export function requireText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) {
    throw invalid(`${field} must be a non-empty string of at most ${max} characters`);
  }
  // Control characters would let a name forge lines in a terminal listing or a log.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control range is the point.
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw invalid(`${field} must not contain control characters`);
  return value;
}

/** A key's own rate, checked and reduced to its three numbers; `null` for none. */
export function keyRateLimit(value: unknown): RateLimitPolicy | null {
  if (value === undefined || value === null) return null;
  try {
    const rule = rateLimitRule(value as RateLimitPolicy, 'key', 'rateLimit');
    return { limit: rule.limit, windowSeconds: rule.windowSeconds, burst: rule.burst };
  } catch (error) {
    throw invalid((error as Error).message);
  }
}

/** A future instant from a `Date`, epoch ms or ISO-8601 string; `null` for none. */
export function futureDate(value: unknown, now: number, field: string): Date | null {
  if (value === undefined || value === null) return null;
  const date = toDate(value);
  if (date === undefined) throw invalid(`${field} must be a date (ISO-8601, epoch ms or Date)`);
  if (date.getTime() <= now) throw invalid(`${field} must be in the future`);
  return date;
}

/**
 * A signed key's expiry is its `exp` claim, whole seconds: rounded down, so that the key never
 * outlives what was asked, and the record's `expiresAt` and the claim agree to the millisecond.
 */
export function expiryFor(kind: KeyKind, date: Date | null, now: number): Date | null {
  if (kind === 'opaque' || date === null) return date;
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
  if (whole.getTime() <= now)
    throw invalid('expiresAt of a signed key must be a second or more away');
  return whole;
}

/** `ms` as a Date, or `null` (no expiry) past the last instant a Date can hold. */
export function representableDate(ms: number): Date | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}
