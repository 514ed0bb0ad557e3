import type { AuthenticatedKey, Authenticator } from '@orkesta/auth';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What `requireScope` and `authErrorHandler` need of the plugin that covers a route. */
export interface PluginContext {
  readonly authenticator: Authenticator;
  readonly onFailure: 'respond' | 'throw';
  /**
   * The principals it handed out (one per key's cache entry, held weakly): a `request.auth`
   * counts only if it is one, as in the Express adapter. Application code that keeps a
   * principal and puts it on another request's `request.auth` vouches for that request itself.
   */
  readonly admitted: WeakSet<AuthenticatedKey>;
}

/**
 * The instance decoration that holds the plugin's context: Fastify instances inherit it down
 * their encapsulation contexts, and a route's hooks and handlers find it on `request.server`.
 * Nothing more is written on the request than `auth`: Fastify's request constructor stores
 * every request decoration on every request, through a megamorphic keyed store, and two more
 * (the context and the admitted key, as symbols) cost about 22,000 instructions a request,
 * 7.8 % of the plugin's request (callgrind, 4,000 requests of bench/fastify-server.mjs auth
 * after 20,000 of warm-up: 1,145 M instructions with them, 1,056 M without).
 */
const CONTEXT = Symbol('orkesta-auth.context');

type WithContext = FastifyInstance & { [CONTEXT]?: PluginContext };

/** Whether a plugin covers `instance` already (there or in a parent context). */
export function hasContext(instance: FastifyInstance): boolean {
  return instance.hasDecorator(CONTEXT);
}

export function decorateContext(instance: FastifyInstance, context: PluginContext): void {
  instance.decorate(CONTEXT, context);
}

/** The context of the plugin covering the route `request` reached, if one does. */
export function contextOf(request: FastifyRequest): PluginContext | undefined {
  return (request.server as WithContext)[CONTEXT];
}

/** The key the plugin admitted for `request`: `request.auth`, if the plugin handed it out. */
export function admittedKey(
  context: PluginContext,
  request: FastifyRequest,
): AuthenticatedKey | undefined {
  const key = request.auth;
  return key !== null && key !== undefined && context.admitted.has(key) ? key : undefined;
}
