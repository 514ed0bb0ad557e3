import type { Scope } from '@orkesta/auth';
import { checkAccess, requireScope as scopeRequirement } from '@orkesta/auth/adapter';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { admittedKey, contextOf } from './context.js';
import { fail } from './reply.js';
import { FastifyAuthRequest } from './request.js';

/** A route hook, as Fastify calls `preHandler` and `onRequest` hooks. */
export type ScopeHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

/**
 * Admits keys of `scope` or higher, as a route hook after the plugin's:
 * `app.post('/v1/payments', { onRequest: requireScope('read-write') }, handler)` (refused
 * before the body is read; as a `preHandler` it works too). The scope is
 * checked now: an unknown one throws a `ConfigurationError` at startup. On a route the plugin
 * did not authenticate (public, or outside its context) it refuses: 401 `missing_api_key`.
 */
export function requireScope(scope: Scope): ScopeHook {
  const requirement = scopeRequirement(scope);
  return function requireScopeHook(request, reply, done) {
    // Only a key the plugin admitted counts; `request.auth` is writable by anyone.
    const context = contextOf(request);
    const denied =
      context === undefined
        ? checkAccess(undefined, requirement)
        : context.authenticator.authorize(
            admittedKey(context, request),
            requirement,
            new FastifyAuthRequest(request, undefined, undefined),
          );
    if (denied === undefined) done();
    else fail(context, denied, reply, done);
  };
}
