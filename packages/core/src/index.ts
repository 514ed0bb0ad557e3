/**
 * `@orkesta/auth`: what application code uses. Adapter authors find their helpers in
 * `@orkesta/auth/adapter`, store, feed and limiter authors theirs in `@orkesta/auth/store`, and
 * the store conformance kit is `@orkesta/auth/testing`.
 */

// Authenticating requests
export type {
  AccessRequirement,
  AuthenticatedKey,
  AuthRequest,
  AuthResult,
  RequestOrigin,
} from './auth-request.js';
export { Authenticator, createAuthenticator } from './authenticator.js';
export type { AuthenticatorOptions, CacheOptions } from './authenticator-options.js';
// Issuing and managing keys
export type { LocalChangeFeed, LocalChangeFeedOptions } from './change-feed.js';
export { combineChangeFeeds, createLocalChangeFeed } from './change-feed.js';
// Errors, and their responses
export type {
  AnyAuthError,
  AuthErrorCode,
  BearerChallengeError,
  KeyManagementErrorCode,
} from './errors.js';
export {
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AUTH_ERROR_STATUS,
  AuthError,
  AuthUnavailableError,
  ChangeFeedTimeoutError,
  ConfigurationError,
  HttpsRequiredError,
  InsufficientScopeError,
  InvalidApiKeyError,
  isAuthError,
  KeyManagementError,
  MalformedAuthorizationHeaderError,
  MissingApiKeyError,
  RateLimitExceededError,
  StoreClosedError,
  StoredRecordError,
  StoreTimeoutError,
  TooManyFailedAttemptsError,
  WorkspaceMismatchError,
} from './errors.js';
export type { HashingOptions, Pepper } from './hashing.js';
export type {
  AuthenticatedEvent,
  AuthHooks,
  ErrorContext,
  InsecureKeyEvent,
  LookupEvent,
  LookupResult,
  RejectedEvent,
} from './hooks.js';
export { combineHooks } from './hooks.js';
export type { RotatedKey } from './issued-key.js';
export { IssuedKey } from './issued-key.js';
// The key format
export type { KeyEnvironment, ParsedApiKey } from './key-format.js';
export {
  API_KEY_SCANNER_PATTERN,
  generateApiKey,
  isKeyEnvironment,
  KEY_ENVIRONMENTS,
  KEY_LENGTH,
  keyChecksum,
  parseApiKey,
} from './key-format.js';
export type { KeyManagerOptions } from './key-manager.js';
export { createKeyManager, KeyManager } from './key-manager.js';
export type {
  ApiKeyInfo,
  CreateKeyInput,
  ListKeysInput,
  RotateKeyInput,
  WorkspaceGuard,
} from './key-manager-inputs.js';
export { keyNotFoundError } from './key-manager-inputs.js';
export { MemoryKeyStore } from './memory-store.js';
// Documenting it: OpenAPI
export type {
  ApiKeyOpenApiOptions,
  OpenApiDocument,
  OpenApiOperationInfo,
  OperationAccess,
} from './openapi.js';
export { addApiKeyAuth, OPENAPI_PUBLIC_EXTENSION, OPENAPI_SCOPE_EXTENSION } from './openapi.js';
// Rate limiting
export type {
  MemoryRateLimiterOptions,
  RateLimiter,
  RateLimitOptions,
  RateLimitPolicy,
} from './rate-limit.js';
export { MemoryRateLimiter } from './rate-limit.js';
export type { ProblemDetails, RenderedError } from './render.js';
export { PROBLEM_CONTENT_TYPE, renderProblem } from './render.js';
// Scopes
export type { Scope } from './scopes.js';
export { isScope, SCOPES, scopeSatisfies } from './scopes.js';
export type { KeyKind, ParsedSignedKey, SignedKeyClaims } from './signed-key.js';
export {
  keyKind,
  parseSignedKey,
  SIGNED_KEY_MAX_LENGTH,
  SIGNED_KEY_SCANNER_PATTERN,
  SIGNED_KEY_TYPE,
} from './signed-key.js';
// Signed keys
export type { RemoteJwksOptions, SignedKeyOptions } from './signed-verifier.js';
export type {
  GeneratedSigningKey,
  JSONWebKeySet,
  JwksResponse,
  JwksResponseOptions,
  KeyMaterial,
  SigningAlgorithm,
  SigningKeyInput,
  SigningKeysOptions,
} from './signing.js';
export {
  createSigningKeys,
  generateSigningKey,
  JWKS_CONTENT_TYPE,
  jwksResponse,
  SIGNING_ALGORITHMS,
  SigningKeys,
} from './signing.js';
export type { FailedAttemptsOptions } from './steps/throttle.js';
export type {
  ApiKeyRecord,
  KeyChangeFeed,
  KeyLookup,
  KeyStatus,
  KeyStore,
  StoredKey,
} from './store-types.js';
