import type { AuthenticatedKey, Authenticator, AuthRequest, Scope } from '@orkesta/auth';
import type { AuthorizationInput } from '@orkesta/auth/adapter';
import { authorizationFromRawHeaders } from '@orkesta/auth/adapter';
import type { FastifyRequest } from 'fastify';

/** What the plugin that saw a request leaves on it, for `requireScope` and `authErrorHandler`. */
export interface PluginContext {
  readonly authenticator: Authenticator;
  readonly onFailure: 'respond' | 'throw';
}

/**
 * Request decorations of the plugin, declared with `decorateRequest` so that every request has
 * the same shape. Symbols: only this package reads them, and nothing else can set them.
 */
export const CONTEXT = Symbol('orkesta-auth.context');
export const ADMITTED = Symbol('orkesta-auth.admitted');

export interface DecoratedRequest extends FastifyRequest {
  /** The plugin that authenticated or refused the request. */
  [CONTEXT]: PluginContext | null;
  /** The key it admitted: `requireScope` reads this, not `request.auth`, which anyone can set. */
  [ADMITTED]: AuthenticatedKey | null;
}

/**
 * The request as the core reads it. Each field is read from Fastify only when the core asks:
 * `secure` (`request.protocol`, which honours `trustProxy`) only when HTTPS is required, `ip`
 * (also `trustProxy`'s) for throttling and hooks, `path` for hooks.
 */
export class FastifyAuthRequest implements AuthRequest {
  readonly #request: FastifyRequest;
  readonly workspaceId: string | undefined;
  readonly requiredScope: Scope | undefined;

  constructor(
    request: FastifyRequest,
    workspaceId: string | undefined,
    requiredScope: Scope | undefined,
  ) {
    this.#request = request;
    this.workspaceId = workspaceId;
    this.requiredScope = requiredScope;
  }

  get authorization(): AuthorizationInput {
    return authorizationFromRawHeaders(this.#request.raw.rawHeaders);
  }

  get secure(): boolean {
    return this.#request.protocol === 'https';
  }

  get ip(): string {
    return this.#request.ip;
  }

  /** The path without its query: a key sent as `?api_key=` must never reach a hook. */
  get path(): string {
    return pathOf(this.#request.url);
  }
}

/** `url` up to its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
