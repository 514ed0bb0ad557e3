import type {
  AnyAuthError,
  AuthenticatedKey,
  Authenticator,
  AuthenticatorOptions,
  AuthRequest,
  AuthResult,
  JSONWebKeySet,
  JwksResponseOptions,
  RenderedError,
  Scope,
  SigningKeys,
} from '@orkesta/auth';
import { isAuthError, jwksResponse } from '@orkesta/auth';
import type { AuthorizationInput } from '@orkesta/auth/adapter';
import {
  authorizationFromRawHeaders,
  checkAccess,
  middlewareOptions,
  renderAuthError,
  requireScope as scopeRequirement,
} from '@orkesta/auth/adapter';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';

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

declare global {
  namespace Express {
    interface Request {
      /** The authenticated API key, set by `orkestaAuth()`. */
      auth?: AuthenticatedKey;
    }
  }
}

interface ExpressOptions {
  /**
   * The workspace the route belongs to, read from the request (a path parameter, a header);
   * a key of another workspace gets 403 `workspace_mismatch`. Return `undefined` for routes
   * that name no workspace.
   */
  readonly workspace?: (req: Request) => string | undefined;
  /**
   * `'respond'` (default) answers failures with the contract's status, headers and
   * problem+json body. `'next'` passes the `AuthError` to `next(err)` for your own error
   * middleware; `authErrorHandler()` renders it exactly as `'respond'` would.
   */
  readonly onFailure?: 'respond' | 'next';
}

/** Options of `orkestaAuth`: an authenticator's options, or an authenticator built elsewhere. */
export type OrkestaAuthOptions =
  | (AuthenticatorOptions & ExpressOptions & { readonly authenticator?: never })
  | (ExpressOptions & { readonly authenticator: Authenticator });

/** What `requireScope` and `authErrorHandler` need of the `orkestaAuth` a request went through. */
interface MiddlewareContext {
  readonly authenticator: Authenticator;
  readonly onFailure: 'respond' | 'next';
  /**
   * Another middleware shares the authenticator with the other `onFailure`: its principals no
   * longer tell the two apart, so each request is recorded in `requestContexts`.
   */
  perRequest: boolean;
}

// Which middleware a request went through, found without writing anything per request in the
// usual case. Nothing goes on the request itself: Express sets the prototype of every request
// it handles (`app.request`), so V8 cannot share hidden classes between requests and every
// property added to one copies its descriptors (about 25,000 instructions, measured). A WeakMap
// entry per request was cheaper to write but not to keep: with every request a young key, the
// garbage collector's ephemeron work cost about 4 % of Express's throughput (bench/, side by
// side). So an admitted request is known by its principal (`req.auth`, one frozen object per key
// and authenticator, which only that authenticator hands out), and only refusals passed to
// `next(err)`, or middlewares that share an authenticator, record the request.
const principalContexts = new WeakMap<AuthenticatedKey, MiddlewareContext>();
const requestContexts = new WeakMap<Request, MiddlewareContext>();
const authenticatorContexts = new WeakMap<Authenticator, MiddlewareContext[]>();

/** The one context of an authenticator and failure mode; see `MiddlewareContext.perRequest`. */
function contextFor(
  authenticator: Authenticator,
  onFailure: 'respond' | 'next',
): MiddlewareContext {
  const known = authenticatorContexts.get(authenticator) ?? [];
  const same = known.find((context) => context.onFailure === onFailure);
  if (same !== undefined) return same;
  const context: MiddlewareContext = { authenticator, onFailure, perRequest: known.length > 0 };
  for (const other of known) other.perRequest = true;
  authenticatorContexts.set(authenticator, [...known, context]);
  return context;
}

/** The context of the `orkestaAuth` that admitted or refused `req`, if one did. */
function contextOf(req: Request): MiddlewareContext | undefined {
  const recorded = requestContexts.get(req);
  if (recorded !== undefined) return recorded;
  const key = req.auth;
  return key === undefined ? undefined : principalContexts.get(key);
}

/**
 * Authenticates every request it sees: sets `req.auth` and calls `next()`, or answers (or passes
 * on) the contract's error. Options are checked here, once; a mistake throws a
 * `ConfigurationError` at startup.
 */
export function orkestaAuth(options: OrkestaAuthOptions): OrkestaAuthMiddleware {
  const { authenticator, workspace, onFailure } = middlewareOptions<Request, 'next'>(
    options,
    'next',
  );
  const context = contextFor(authenticator, onFailure);
  const middleware = function orkestaAuthMiddleware(
    req: Request,
    res: Response,
    next: NextFunction,
  ) {
    let workspaceId: string | undefined;
    try {
      workspaceId = workspace?.(req);
    } catch (error) {
      // A resolver that throws is the application's bug: let Express report it, admit nothing.
      next(error);
      return;
    }
    const result = authenticator.authenticateMaybeSync(new ExpressAuthRequest(req, workspaceId));
    if (result instanceof Promise) {
      result
        .then((settled) => conclude(context, settled, req, res, next), next)
        // Nothing may escape as an unhandled rejection (it would end the process).
        .catch(next);
    } else conclude(context, result, req, res, next);
  };
  return Object.assign(middleware, { authenticator });
}

/** The middleware, and the authenticator it uses: for `close()` at shutdown, or `invalidate`. */
export type OrkestaAuthMiddleware = RequestHandler & { readonly authenticator: Authenticator };

/**
 * The request as the core reads it. Each field is read from Express only when the core asks:
 * `secure` only when HTTPS is required, `ip` and `path` only for a hook.
 */
class ExpressAuthRequest implements AuthRequest {
  readonly #req: Request;
  readonly workspaceId: string | undefined;

  constructor(req: Request, workspaceId: string | undefined) {
    this.#req = req;
    this.workspaceId = workspaceId;
  }

  get authorization(): AuthorizationInput {
    return authorizationFromRawHeaders(this.#req.rawHeaders);
  }

  get secure(): boolean {
    return this.#req.secure;
  }

  get ip(): string | undefined {
    return this.#req.ip;
  }

  get path(): string {
    return this.#req.path;
  }
}

function conclude(
  context: MiddlewareContext,
  result: AuthResult,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (result.headers !== undefined) res.set(result.headers);
  if (result.ok) {
    const key = result.key;
    req.auth = key;
    if (context.perRequest) requestContexts.set(req, context);
    else if (principalContexts.get(key) !== context) principalContexts.set(key, context);
    next();
  } else {
    // authErrorHandler renders it with this authenticator's realm and problem type.
    if (context.onFailure === 'next') requestContexts.set(req, context);
    fail(context, result.error, res, next);
  }
}

/**
 * Admits keys of `scope` or higher; mount it on a route after `orkestaAuth()`. The scope is
 * checked now: an unknown one throws a `ConfigurationError` at startup.
 */
export function requireScope(scope: Scope): RequestHandler {
  const requirement = scopeRequirement(scope);
  return function requireScopeMiddleware(req, res, next) {
    const context = contextOf(req);
    // Without orkestaAuth() there is no key: a req.auth counts only if it is a principal that
    // orkestaAuth handed out (an object put there by anything else is not).
    // `req` itself is the origin: its `ip` and `path` getters run only if a hook reads them.
    const denied =
      context === undefined
        ? checkAccess(undefined, requirement)
        : context.authenticator.authorize(req.auth, requirement, req);
    if (denied === undefined) next();
    else fail(context, denied, res, next);
  };
}

/**
 * Error middleware that answers `AuthError`s (from `onFailure: 'next'`) with the contract's
 * response and passes every other error on.
 */
export function authErrorHandler(): ErrorRequestHandler {
  return function orkestaAuthErrorHandler(err: unknown, req, res, next) {
    if (!isAuthError(err) || res.headersSent) {
      next(err);
      return;
    }
    send(res, render(contextOf(req), err));
  };
}

function fail(
  context: MiddlewareContext | undefined,
  error: AnyAuthError,
  res: Response,
  next: NextFunction,
): void {
  if (context?.onFailure === 'next' || res.headersSent) {
    // Error handlers that read `err.headers` (Express's own) send the challenge headers too.
    // With the headers already sent, only Express can end the response (it drops the socket).
    next(context === undefined ? error : context.authenticator.withHeaders(error));
  } else send(res, render(context, error));
}

function render(context: MiddlewareContext | undefined, error: AnyAuthError): RenderedError {
  return context === undefined ? renderAuthError(error) : context.authenticator.render(error);
}

function send(res: Response, rendered: RenderedError): void {
  res.statusCode = rendered.status;
  for (const name in rendered.headers) res.setHeader(name, rendered.headers[name]!);
  res.end(JSON.stringify(rendered.body));
}

/**
 * Serves the issuer's JWKS, for services that verify its signed keys:
 * `app.get('/.well-known/jwks.json', serveJwks(signingKeys))`, before `orkestaAuth()` (the
 * keys are public). The response (`jwksResponse`) is made once, here: a set with private key
 * material throws a `ConfigurationError` at startup.
 */
export function serveJwks(
  source: SigningKeys | JSONWebKeySet,
  options?: JwksResponseOptions,
): RequestHandler {
  const { status, headers, body } = jwksResponse(source, options);
  return function serveJwksHandler(_req, res) {
    res.statusCode = status;
    for (const name in headers) res.setHeader(name, headers[name]!);
    res.end(body);
  };
}
