/**
 * `@orkesta/auth/adapter`: what a framework adapter needs to translate requests for the core and
 * render its answers. Applications import from `@orkesta/auth` (or their adapter's package).
 */
export type {
  AuthenticatorSource,
  MiddlewareOptions,
  ResolvedMiddlewareOptions,
} from './adapter-options.js';
export { authenticatorFromOptions, middlewareOptions } from './adapter-options.js';
export { checkAccess } from './authenticator.js';
export { AUTHENTICATOR_OPTIONS } from './authenticator-options.js';
export { optionsObject, rejectUnknownOptions } from './options.js';
export type { Problem, RenderOptions } from './render.js';
export { ErrorRenderer, renderAuthError } from './render.js';
export type { ScopeRequirement } from './scopes.js';
export { requireScope } from './scopes.js';
export type { AuthorizationInput } from './steps/extract.js';
export {
  authorizationFromRawHeaders,
  DEFAULT_MAX_HEADER_LENGTH,
  extractBearerToken,
} from './steps/extract.js';
