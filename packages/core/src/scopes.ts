import { ConfigurationError } from './errors.js';

/** Scopes in ascending order of power: each admits everything the ones before it admit. */
export const SCOPES = ['read-only', 'read-write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const RANK: Readonly<Record<Scope, number>> = { 'read-only': 0, 'read-write': 1, admin: 2 };

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Whether a key of scope `granted` may do what needs `required`. */
export function scopeSatisfies(granted: Scope, required: Scope): boolean {
  return RANK[granted] >= RANK[required];
}

/** Returns `value` as a scope, or throws a `ConfigurationError` naming `where`. */
export function assertScope(value: unknown, where: string): Scope {
  if (!isScope(value)) {
    throw new ConfigurationError(
      `${where} must be one of ${SCOPES.map((s) => `"${s}"`).join(', ')}; got ${
        typeof value === 'string' ? `"${value}"` : String(value)
      }`,
    );
  }
  return value;
}

/** A route's requirement of a scope, validated once where the route is declared. */
export interface ScopeRequirement {
  readonly scope: Scope;
}

/**
 * The check behind every adapter's `requireScope`: admits keys of `scope` or higher. Throws a
 * `ConfigurationError` at startup for an unknown scope.
 */
export function requireScope(scope: Scope): ScopeRequirement {
  return Object.freeze({ scope: assertScope(scope, 'the required scope') });
}
