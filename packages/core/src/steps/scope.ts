import type { AuthenticatedKey } from '../auth-request.js';
import { InsufficientScopeError } from '../errors.js';
import type { Scope } from '../scopes.js';
import { isScope, scopeSatisfies } from '../scopes.js';

/**
 * The scope step, last of all: a key whose scope is below the route's gets 403
 * `insufficient_scope`. A scope that is not one of ours admits nothing (`requireScope` and the
 * decorators refuse one at startup).
 */
export function scopeError(
  key: AuthenticatedKey,
  required: Scope | undefined,
): InsufficientScopeError | undefined {
  if (required === undefined || (isScope(required) && scopeSatisfies(key.scope, required))) {
    return undefined;
  }
  return new InsufficientScopeError(key.keyId, required);
}
