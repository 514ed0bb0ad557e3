import type {
  AuthenticatedKey,
  Authenticator,
  AuthenticatorOptions,
  AuthResult,
} from '@orkesta/auth';
import { ConfigurationError } from '@orkesta/auth';
import { middlewareOptions } from '@orkesta/auth/adapter';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { calledOnce } from './called-once.js';
import type { PluginContext } from './context.js';
import { contextOf, decorateContext, hasContext } from './context.js';
import { fail } from './reply.js';
import { FastifyAuthRequest } from './request.js';
import type { OrkestaRouteConfig } from './route-config.js';
import { routeRequirement } from './route-config.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The authenticated API key, set by the `orkestaAuth` plugin: `null` on its public routes,
     * and absent in contexts it does not cover (Fastify decorates only the context it is in).
     */
    auth?: AuthenticatedKey | null;
  }
  interface FastifyContextConfig {
    /** What the route asks of the `orkestaAuth` plugin: `{ scope }`, or `{ public: true }`. */
    orkesta?: OrkestaRouteConfig;
  }
  interface FastifyInstance {
    /** The authenticator of the `orkestaAuth` plugin registered here or in a parent context. */
    readonly orkestaAuthenticator: Authenticator;
  }
}

interface FastifyOptions {
  /**
   * The workspace the route belongs to (a path parameter, a header); a key of another workspace
   * gets 403 `workspace_mismatch`. Return `undefined` for routes that name no workspace.
   */
  readonly workspace?: (request: FastifyRequest) => string | undefined;
  /**
   * `'respond'` (default) answers failures with the contract's status, headers and
   * problem+json body. `'throw'` hands the `AuthError` (with `status` and `headers` set) to
   * Fastify's error handler; `authErrorHandler()` answers it exactly as `'respond'` would.
   */
  readonly onFailure?: 'respond' | 'throw';
}

/** Options of the plugin: an authenticator's options, or an authenticator built elsewhere. */
export type OrkestaAuthOptions =
  | (AuthenticatorOptions & FastifyOptions & { readonly authenticator?: never })
  | (FastifyOptions & { readonly authenticator: Authenticator });

/**
 * Authenticates every request of the context it is registered in (and of the contexts inside
 * it), in `onRequest`, before the body is read: sets `request.auth`, checks the route's
 * `config.orkesta.scope`, or answers (or throws) the contract's error. Options are checked once,
 * at registration; a mistake throws a `ConfigurationError` there, so `ready()` and `listen()`
 * reject. An authenticator the plugin builds is closed with the app (`onClose`); one passed in
 * is its owner's to close.
 */
// Async, so that a throw here rejects `register`, `ready()` and `listen()`.
const plugin: FastifyPluginAsync<OrkestaAuthOptions> = async (fastify, options) => {
  if (hasContext(fastify)) {
    throw new ConfigurationError(
      'orkestaAuth is registered twice on these routes (here and in a parent context): every request would be authenticated twice',
    );
  }
  if ((options as { prefix?: unknown }).prefix !== undefined) {
    throw new ConfigurationError(
      'orkestaAuth takes no prefix: it protects the context it is registered in, so register it inside the plugin that has the prefix',
      { option: 'prefix' },
    );
  }
  const { authenticator, workspace, onFailure } = middlewareOptions<FastifyRequest, 'throw'>(
    options,
    'throw',
  );
  const context: PluginContext = { authenticator, onFailure, admitted: new WeakSet() };

  decorateContext(fastify, context);
  fastify.decorate('orkestaAuthenticator', authenticator);
  // `null` first, so every request has the field from the start (a stable shape).
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  // A wrong route config throws when the route is registered. Routes registered before the
  // plugin has loaded are checked at their first request instead (a wrong one answers 500).
  fastify.addHook('onRoute', (route: RouteOptions) => {
    routeRequirement(route.config?.orkesta);
  });
  fastify.addHook(
    'onRequest',
    function orkestaAuthHook(
      request: FastifyRequest,
      reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ) {
      // A plugin registered in a context inside this one (before this one was: later, it would
      // have thrown) decides for that context's routes: each request is authenticated once.
      if (contextOf(request) !== context) return next();
      const requirement = routeRequirement(request.routeOptions.config.orkesta);
      if (requirement.public) return next();
      let workspaceId: string | undefined;
      try {
        workspaceId = workspace?.(request);
      } catch (error) {
        // A resolver that throws is the application's bug: Fastify reports it, nothing is admitted.
        return next(error as Error);
      }
      const pending = authenticator.authenticateMaybeSync(
        new FastifyAuthRequest(request, workspaceId, requirement.scope),
      );
      if (pending instanceof Promise) {
        const once = calledOnce(next, request);
        pending
          .then((result) => conclude(context, result, request, reply, once), once)
          // Nothing may escape as an unhandled rejection (it would end the process).
          .catch(once);
      } else conclude(context, pending, request, reply, next);
    },
  );
  if (options.authenticator === undefined) {
    fastify.addHook('onClose', (_instance: FastifyInstance, closed) => {
      authenticator.close().then(() => closed(), closed);
    });
  }
};

function conclude(
  context: PluginContext,
  result: AuthResult,
  request: FastifyRequest,
  reply: FastifyReply,
  next: HookHandlerDoneFunction,
): void {
  if (result.headers !== undefined) reply.headers(result.headers);
  if (result.ok) {
    const key = result.key;
    request.auth = key;
    // One principal per cache entry of a key: after its first request this is a lookup.
    if (!context.admitted.has(key)) context.admitted.add(key);
    next();
  } else fail(context, result.error, reply, next);
}

/**
 * The plugin: `await app.register(orkestaAuth, { store })`. Registered with `fastify-plugin`, so
 * its hook and `request.auth` belong to the context that registers it: register it inside an
 * encapsulated plugin to protect only that plugin's routes.
 */
// 5.8.3 and later only: before it, `request.protocol` believed `X-Forwarded-Proto` from any client
// once `trustProxy` was set (GHSA-444r-cwp2-x5xf), and `requireHttps` trusts `request.protocol`.
export const orkestaAuth = fp(plugin, { fastify: '^5.8.3', name: '@orkesta/auth-fastify' });
