import type { Scope } from '@orkesta/auth';
import { checkAccess, requireScope as scopeRequirement } from '@orkesta/auth/adapter';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { fail } from './reply.js';
import type { DecoratedRequest } from './request.js';
import { ADMITTED, CONTEXT, FastifyAuthRequest } from './request.js';

/** A route hook, as Fastify calls `preHandler` and `onRequest` hooks. */
export type ScopeHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

/**
 * Admits keys of `scope` or higher, as a route hook after the plugin's:
 * `app.post('/v1/payments', { preHandler: requireScope('read-write') }, handler)`. The scope is
 * checked now: an unknown one throws a `ConfigurationError` at startup. On a route the plugin
 * did not authenticate (public, or outside its context) it refuses: 401 `missing_api_key`.
 */
export function requireScope(scope: Scope): ScopeHook {
  const requirement = scopeRequirement(scope);
  return function requireScopeHook(request, reply, done) {
    const decorated = request as DecoratedRequest;
    // Only a key the plugin admitted counts; `request.auth` is writable by anyone.
    const context = decorated[CONTEXT] ?? null;
    const key = decorated[ADMITTED] ?? undefined;
    const denied =
      context === null
        ? checkAccess(undefined, requirement)
        : context.authenticator.authorize(
            key,
            requirement,
            new FastifyAuthRequest(request, undefined, undefined),
          );
    if (denied === undefined) done();
    else fail(context, denied, reply, done);
  };
}
