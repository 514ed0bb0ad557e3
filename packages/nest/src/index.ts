// What an application needs of the core, so that one install is enough. Everything else is in
// `@orkesta/auth` and its entry points.
/** The scope names (`Scope` here is the decorator). */
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
  KeyManagementErrorCode,
  KeyManagerOptions,
  KeyStore,
  LookupEvent,
  LookupResult,
  ProblemDetails,
  RateLimitOptions,
  RateLimitPolicy,
  RejectedEvent,
  Scope as ScopeName,
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
export { ApiKey, Public, RequireScope, Scope, Workspace } from './decorators.js';
export { OrkestaAuthExceptionFilter } from './filter.js';
export { OrkestaAuthException, OrkestaAuthGuard } from './guard.js';
export type { OrkestaJwksModuleOptions } from './jwks.js';
export { OrkestaJwksModule } from './jwks.js';
export type {
  OrkestaAuthModuleAsyncOptions,
  OrkestaAuthModuleOptions,
  OrkestaAuthOptionsFactory,
} from './module.js';
export { OrkestaAuthModule } from './module.js';
export type { OpenApiAccessOptions } from './openapi-access.js';
export { openApiAccess } from './openapi-access.js';
export { KeyLookup, ORKESTA_AUTH_OPTIONS } from './tokens.js';
