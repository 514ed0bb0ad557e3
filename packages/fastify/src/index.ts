// What an application needs of the core, so that one install is enough. Everything else is in
// `@orkesta/auth` and its entry points.
export type {
  AnyAuthError,
  ApiKeyInfo,
  ApiKeyOpenApiOptions,
  ApiKeyRecord,
  AuthErrorCode,
  AuthenticatedEvent,
  AuthenticatedKey,
  AuthenticatorOptions,
  AuthHooks,
  CacheOptions,
  CreateKeyInput,
  ErrorContext,
  InsecureKeyEvent,
  KeyChangeFeed,
  KeyLookup,
  KeyManagementErrorCode,
  KeyManagerOptions,
  KeyStore,
  LookupEvent,
  LookupResult,
  ProblemDetails,
  RateLimitOptions,
  RateLimitPolicy,
  RejectedEvent,
  Scope,
  SignedKeyOptions,
  StoredKey,
} from '@orkesta/auth';
export {
  AuthError,
  Authenticator,
  addApiKeyAuth,
  ConfigurationError,
  combineHooks,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  createSigningKeys,
  generateSigningKey,
  IssuedKey,
  isAuthError,
  isScope,
  KeyManagementError,
  KeyManager,
  MemoryKeyStore,
  MemoryRateLimiter,
  renderProblem,
  SCOPES,
  SigningKeys,
  StoreClosedError,
  scopeSatisfies,
} from '@orkesta/auth';
export type { OrkestaJwksOptions } from './jwks.js';
export { orkestaJwks } from './jwks.js';
export type { LoggedRequest } from './log-serializer.js';
export { requestLogSerializer } from './log-serializer.js';
export type { OrkestaAuthOptions } from './plugin.js';
export { orkestaAuth } from './plugin.js';
export type { ErrorHandler } from './reply.js';
export { authErrorHandler } from './reply.js';
export type { ScopeHook } from './require-scope.js';
export { requireScope } from './require-scope.js';
export type { OrkestaRouteConfig } from './route-config.js';
