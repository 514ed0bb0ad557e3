import type { AuthRequest, Scope } from '@orkesta/auth';
import type { AuthorizationInput } from '@orkesta/auth/adapter';
import { authorizationFromRawHeaders } from '@orkesta/auth/adapter';
import type { FastifyRequest } from 'fastify';

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
