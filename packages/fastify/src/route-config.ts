import type { Scope } from '@orkesta/auth';
import { ConfigurationError, isScope, SCOPES } from '@orkesta/auth';
import { optionsObject } from '@orkesta/auth/adapter';

/**
 * What a route asks of the plugin, in its config:
 * `app.get('/v1/payments', { config: { orkesta: { scope: 'read-write' } } }, handler)`.
 */
export interface OrkestaRouteConfig {
  /** The least scope the route admits; without one, any authenticated key. */
  readonly scope?: Scope;
  /** `true`: the plugin leaves the route alone (no key needed, `request.auth` stays `null`). */
  readonly public?: boolean;
}

/** A route's config, checked: whether the plugin authenticates it, and for which scope. */
export interface RouteRequirement {
  readonly public: boolean;
  readonly scope: Scope | undefined;
}

const ANY_KEY: RouteRequirement = Object.freeze({ public: false, scope: undefined });

// Checked once per config object: Fastify copies a route's config, but not the `orkesta`
// object in it, so the object the route declared is the one each request finds.
const checked = new WeakMap<object, RouteRequirement>();

/**
 * The requirement of a route whose config holds `config` as `orkesta`; throws a
 * `ConfigurationError` for a wrong one (called when the route is registered, and again, from the
 * cache, per request).
 */
export function routeRequirement(config: unknown): RouteRequirement {
  if (config === undefined) return ANY_KEY;
  const known = typeof config === 'object' && config !== null ? checked.get(config) : undefined;
  if (known !== undefined) return known;
  const { scope, public: isPublic = false } = optionsObject(
    config as OrkestaRouteConfig,
    ['scope', 'public'],
    'config.orkesta',
    "{ scope?: 'read-only' | 'read-write' | 'admin', public?: boolean }",
  );
  if (typeof isPublic !== 'boolean') {
    throw new ConfigurationError('config.orkesta.public must be true or false');
  }
  if (isPublic && scope !== undefined) {
    throw new ConfigurationError(
      'config.orkesta: a public route needs no key, so it cannot require a scope',
    );
  }
  if (scope !== undefined && !isScope(scope)) {
    throw new ConfigurationError(
      `config.orkesta.scope must be one of ${SCOPES.map((name) => `"${name}"`).join(', ')}`,
    );
  }
  const requirement: RouteRequirement = Object.freeze({ public: isPublic, scope });
  checked.set(config as object, requirement);
  return requirement;
}
