export type {
  AccessRequirement,
  AuthenticatedEvent,
  AuthenticatedKey,
  AuthenticatorOptions,
  AuthHooks,
  AuthRequest,
  AuthResult,
  CacheOptions,
  ErrorContext,
  InsecureKeyEvent,
  MiddlewareOptions,
  RejectedEvent,
  RequestOrigin,
} from './authenticator.js';
export {
  Authenticator,
  authenticatorFromOptions,
  checkAccess,
  createAuthenticator,
  middlewareOptions,
  StoredRecordError,
  StoreTimeoutError,
} from './authenticator.js';
export { BASE62_ALPHABET } from './base62.js';
export type {
  AnyAuthError,
  AuthErrorCode,
  BearerChallengeError,
  KeyManagementErrorCode,
} from './errors.js';
export {
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AuthError,
  AuthUnavailableError,
  ConfigurationError,
  HttpsRequiredError,
  InsufficientScopeError,
  InvalidApiKeyError,
  isAuthError,
  KeyManagementError,
  MalformedAuthorizationHeaderError,
  MissingApiKeyError,
  RateLimitExceededError,
  TooManyFailedAttemptsError,
  WorkspaceMismatchError,
} from './errors.js';
export type { DecodedHash, HashingOptions, Pepper, StoredHash } from './hashing.js';
export { KeyHasher, storedKeyKind } from './hashing.js';
export type { AuthorizationInput } from './header.js';
export {
  authorizationFromRawHeaders,
  DEFAULT_MAX_HEADER_LENGTH,
  extractBearerToken,
} from './header.js';
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
export type {
  ApiKeyInfo,
  CreateKeyInput,
  KeyManagerOptions,
  ListKeysInput,
  RotatedKey,
  RotateKeyInput,
  WorkspaceGuard,
} from './key-manager.js';
export { createKeyManager, IssuedKey, KeyManager, keyNotFoundError } from './key-manager.js';
export type { ListPosition } from './memory-store.js';
export { decodeListCursor, encodeListCursor, MemoryKeyStore } from './memory-store.js';
export type {
  FailedAttemptsOptions,
  MemoryRateLimiterOptions,
  RateLimitDecision,
  RateLimiter,
  RateLimitOptions,
  RateLimitPolicy,
  RateLimitRule,
} from './rate-limit.js';
export {
  clientAddressGroup,
  gcra,
  MemoryRateLimiter,
  rateLimitField,
  rateLimitRule,
  retryAfterSeconds,
} from './rate-limit.js';
export type { Problem, ProblemDetails, RenderedError, RenderOptions } from './render.js';
export {
  ErrorRenderer,
  PROBLEM_CONTENT_TYPE,
  quoteHeaderValue,
  renderAuthError,
  renderProblem,
} from './render.js';
export type { Scope, ScopeRequirement } from './scopes.js';
export { assertScope, isScope, requireScope, SCOPES, scopeSatisfies } from './scopes.js';
export type { KeyKind, ParsedSignedKey, SignedKeyClaims } from './signed-key.js';
export {
  keyKind,
  parseSignedKey,
  SIGNED_KEY_MAX_LENGTH,
  SIGNED_KEY_SCANNER_PATTERN,
  SIGNED_KEY_TYPE,
} from './signed-key.js';
export type { RemoteJwksOptions, SignedKeyOptions } from './signed-verifier.js';
export type {
  GeneratedSigningKey,
  JSONWebKeySet,
  JwksResponse,
  JwksResponseOptions,
  KeyMaterial,
  SignedKeyContent,
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
export type {
  ApiKeyRecord,
  KeyChangeFeed,
  KeyChangeMessage,
  KeyChanges,
  KeyLookup,
  KeyPage,
  KeyStatus,
  KeyStore,
  ListKeysQuery,
  StoredKey,
} from './store.js';
export {
  createLocalChangeFeed,
  decodeKeyChangeMessage,
  encodeKeyChangeMessage,
  keyStatus,
} from './store.js';
