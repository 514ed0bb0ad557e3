/**
 * Every way a request can fail authentication, as the behaviour contract names them.
 * The `code` is stable and is what clients and tests switch on.
 */
export type AuthErrorCode =
  | 'https_required'
  | 'missing_api_key'
  | 'malformed_authorization_header'
  | 'invalid_api_key'
  | 'auth_unavailable'
  | 'api_key_revoked'
  | 'api_key_expired'
  | 'workspace_mismatch'
  | 'rate_limit_exceeded'
  | 'too_many_failed_attempts'
  | 'insufficient_scope';

/** The `error` parameter of an RFC 6750 `WWW-Authenticate: Bearer` challenge. */
export type BearerChallengeError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** Base class of every request-time failure. Adapters render it; they never pick a status. */
export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
  abstract readonly status: 401 | 403 | 429 | 503;
  /** Short, fixed summary of the problem type (RFC 9457 `title`). */
  abstract readonly title: string;
  /** Whether the response carries a Bearer challenge, and with which `error`. */
  declare readonly challenge: BearerChallengeError | 'bare' | undefined;
  /** Seconds a client should wait before retrying, when that is known. */
  declare readonly retryAfterSeconds: number | undefined;
  /** The IETF `RateLimit-Policy` and `RateLimit` fields, for a refusal by the rate limit. */
  declare readonly rateLimitFields: Readonly<Record<string, string>> | undefined;
  /** The key the failure concerns, when it got as far as a key id. Never the secret. */
  readonly keyId: string | undefined;
  /**
   * The response headers (challenge, `Retry-After`), once an authenticator has attached them
   * with `withHeaders`, for error handlers that read `err.headers` (Express, Koa).
   */
  headers: Readonly<Record<string, string>> | undefined;

  /**
   * An AuthError is an answer to a client, not a bug, so it carries no stack trace: where it
   * was made says nothing useful, and capturing one would make every refused request (a flood
   * of random keys, say) pay for it.
   */
  constructor(detail: string, keyId?: string) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = stackTraceLimit;
    this.keyId = keyId;
    this.headers = undefined;
  }

  /** Always true: the message is written for the client and carries no secret. */
  get expose(): true {
    return true;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** HTTP status under the name Koa, http-errors and many loggers read. */
  get statusCode(): number {
    return this.status;
  }

  toJSON(): { name: string; code: AuthErrorCode; status: number; message: string; keyId?: string } {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      message: this.message,
      ...(this.keyId === undefined ? {} : { keyId: this.keyId }),
    };
  }
}

export class HttpsRequiredError extends AuthError {
  readonly code = 'https_required';
  readonly status = 403;
  readonly title = 'HTTPS required';
  constructor() {
    super(
      'API keys are accepted over HTTPS only. For local development, turn the check off with the requireHttps: false option.',
    );
  }
}

export class MissingApiKeyError extends AuthError {
  readonly code = 'missing_api_key';
  readonly status = 401;
  readonly title = 'Missing API key';
  override readonly challenge = 'bare';
  constructor() {
    super('Send your API key in the Authorization header: "Authorization: Bearer <api key>".');
  }
}

/**
 * The Authorization header is not one well-formed `Bearer <token>`. A header of another scheme
 * (`Basic …`, `Bearer2 …`) carries no credentials this API reads, so its challenge is the bare
 * `Bearer realm="…"` with no error code (RFC 6750 §3.1); a broken `Bearer` header, an empty one
 * or several get `error="invalid_request"`.
 */
export class MalformedAuthorizationHeaderError extends AuthError {
  readonly code = 'malformed_authorization_header';
  readonly status = 401;
  readonly title = 'Malformed Authorization header';
  override readonly challenge: 'invalid_request' | 'bare';
  /** Whether the header named another scheme than Bearer. */
  readonly otherScheme: boolean;
  constructor(
    detail = 'The Authorization header must be exactly "Bearer <api key>".',
    options: { readonly otherScheme?: boolean } = {},
  ) {
    super(detail);
    this.otherScheme = options.otherScheme === true;
    this.challenge = this.otherScheme ? 'bare' : 'invalid_request';
  }
}

export class InvalidApiKeyError extends AuthError {
  readonly code = 'invalid_api_key';
  readonly status = 401;
  readonly title = 'Invalid API key';
  override readonly challenge = 'invalid_token';
  constructor(keyId?: string) {
    super('The API key is not valid.', keyId);
  }
}

export class ApiKeyRevokedError extends AuthError {
  readonly code = 'api_key_revoked';
  readonly status = 401;
  readonly title = 'API key revoked';
  override readonly challenge = 'invalid_token';
  constructor(keyId: string) {
    super(`API key ${keyId} has been revoked.`, keyId);
  }
}

export class ApiKeyExpiredError extends AuthError {
  readonly code = 'api_key_expired';
  readonly status = 401;
  readonly title = 'API key expired';
  override readonly challenge = 'invalid_token';
  constructor(keyId: string) {
    super(`API key ${keyId} has expired.`, keyId);
  }
}

export class AuthUnavailableError extends AuthError {
  readonly code = 'auth_unavailable';
  readonly status = 503;
  readonly title = 'Authentication unavailable';
  override readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, keyId?: string) {
    super('API keys cannot be checked right now. Retry later.', keyId);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class WorkspaceMismatchError extends AuthError {
  readonly code = 'workspace_mismatch';
  readonly status = 403;
  readonly title = 'Workspace mismatch';
  constructor(keyId: string) {
    super(`API key ${keyId} does not belong to the workspace of this resource.`, keyId);
  }
}

export class InsufficientScopeError extends AuthError {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  readonly title = 'Insufficient scope';
  override readonly challenge = 'insufficient_scope';
  /** The scope the route needs. */
  readonly requiredScope: string;
  constructor(keyId: string, requiredScope: string) {
    super(`This request needs an API key with the "${requiredScope}" scope or higher.`, keyId);
    this.requiredScope = requiredScope;
  }
}

export class RateLimitExceededError extends AuthError {
  readonly code = 'rate_limit_exceeded';
  readonly status = 429;
  readonly title = 'Rate limit exceeded';
  override readonly retryAfterSeconds: number;
  override readonly rateLimitFields: Readonly<Record<string, string>>;
  constructor(keyId: string, retryAfterSeconds: number, fields: Readonly<Record<string, string>>) {
    super(
      `API key ${keyId} has exceeded its request rate. Retry after ${retryAfterSeconds} s (the Retry-After header).`,
      keyId,
    );
    this.retryAfterSeconds = retryAfterSeconds;
    this.rateLimitFields = fields;
  }
}

export class TooManyFailedAttemptsError extends AuthError {
  readonly code = 'too_many_failed_attempts';
  readonly status = 429;
  readonly title = 'Too many failed attempts';
  override readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(
      `Too many failed authentication attempts from this address. Retry after ${retryAfterSeconds} s (the Retry-After header).`,
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Every concrete request-time error: `switch (err.code)` narrows it. */
export type AnyAuthError =
  | HttpsRequiredError
  | MissingApiKeyError
  | MalformedAuthorizationHeaderError
  | InvalidApiKeyError
  | ApiKeyRevokedError
  | ApiKeyExpiredError
  | AuthUnavailableError
  | WorkspaceMismatchError
  | RateLimitExceededError
  | TooManyFailedAttemptsError
  | InsufficientScopeError;

/**
 * The status every code answers with, as the behaviour contract's table gives it: for documents
 * that list what a route can answer (the OpenAPI helper), and dashboards that group by status.
 */
export const AUTH_ERROR_STATUS = {
  https_required: 403,
  missing_api_key: 401,
  malformed_authorization_header: 401,
  invalid_api_key: 401,
  auth_unavailable: 503,
  api_key_revoked: 401,
  api_key_expired: 401,
  workspace_mismatch: 403,
  rate_limit_exceeded: 429,
  too_many_failed_attempts: 429,
  insufficient_scope: 403,
} as const satisfies Readonly<Record<AuthErrorCode, AnyAuthError['status']>>;

export function isAuthError(value: unknown): value is AnyAuthError {
  return value instanceof AuthError;
}

/** Thrown at startup when options are wrong: the message says what to fix. */
export class ConfigurationError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_CONFIG';
  /** For an unknown option: its name, with the path of a nested one (`cache.ttl`). */
  readonly option: string | undefined;
  /** For an unknown option: the known option it most likely meant, if one is close. */
  readonly suggestion: string | undefined;

  constructor(
    message: string,
    options: {
      readonly cause?: unknown;
      readonly option?: string;
      readonly suggestion?: string;
    } = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.option = options.option;
    this.suggestion = options.suggestion;
  }

  override get name(): string {
    return 'ConfigurationError';
  }
}

/**
 * What every store and change feed throws (or rejects with) once it is closed: open a new one.
 * Not a configuration mistake but a handle used after its end, so the CLI reports it as a store
 * it cannot use (exit 3).
 */
export class StoreClosedError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_STORE_CLOSED';
  /** What is closed, e.g. `the SqliteKeyStore on keys.db`. */
  readonly what: string;
  constructor(what: string) {
    super(`${what} is closed; open a new one to use it again`);
    this.what = what;
  }
  override get name(): string {
    return 'StoreClosedError';
  }
}

/** Reported to `onError` when the store does not answer within `storeTimeoutMs`. */
export class StoreTimeoutError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_STORE_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the key store did not answer within ${timeoutMs} ms`);
  }
  override get name(): string {
    return 'StoreTimeoutError';
  }
}

/** Reported to the key manager's `onError` when the change feed does not take a change in time. */
export class ChangeFeedTimeoutError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_FEED_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the change feed did not take the change within ${timeoutMs} ms`);
  }
  override get name(): string {
    return 'ChangeFeedTimeoutError';
  }
}

/** Reported to `onError` when the store returns a record that cannot be used. */
export class StoredRecordError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_STORED_RECORD';
  readonly keyId: string;
  constructor(keyId: string, problem: string) {
    super(`stored key ${keyId} is unusable: ${problem}`);
    this.keyId = keyId;
  }
  override get name(): string {
    return 'StoredRecordError';
  }
}

/** Stable codes of key-management failures (creating, revoking, rotating keys). */
export type KeyManagementErrorCode =
  | 'invalid_key_parameters'
  | 'api_key_not_found'
  | 'api_key_not_active'
  | 'api_key_already_rotated'
  | 'duplicate_key_id';

/**
 * A key-management request that cannot be done. Carries an HTTP status so that an admin API
 * built on `KeyManager` can answer with `renderProblem` without choosing statuses itself.
 */
export class KeyManagementError extends Error {
  readonly code: KeyManagementErrorCode;
  readonly status: 400 | 404 | 409;
  readonly title: string;
  readonly expose = true;

  constructor(code: KeyManagementErrorCode, detail: string) {
    super(detail);
    this.code = code;
    const [status, title] = KEY_MANAGEMENT_ERRORS[code];
    this.status = status;
    this.title = title;
  }

  override get name(): string {
    return 'KeyManagementError';
  }

  get statusCode(): number {
    return this.status;
  }
}

const KEY_MANAGEMENT_ERRORS: Readonly<
  Record<KeyManagementErrorCode, readonly [400 | 404 | 409, string]>
> = {
  invalid_key_parameters: [400, 'Invalid key parameters'],
  api_key_not_found: [404, 'API key not found'],
  api_key_not_active: [409, 'API key not active'],
  api_key_already_rotated: [409, 'API key already rotated'],
  duplicate_key_id: [409, 'Duplicate key id'],
};
