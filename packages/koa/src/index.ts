import type {
  AnyAuthError,
  AuthenticatedKey,
  Authenticator,
  AuthenticatorOptions,
  AuthRequest,
  AuthResult,
  JSONWebKeySet,
  JwksResponseOptions,
  Scope,
  SigningKeys,
} from '@orkesta/auth';
import { ConfigurationError, jwksResponse } from '@orkesta/auth';
import type { AuthorizationInput } from '@orkesta/auth/adapter';
import {
  authorizationFromRawHeaders,
  checkAccess,
  middlewareOptions,
  optionsObject,
  renderAuthError,
  requireScope as scopeRequirement,
} from '@orkesta/auth/adapter';
import type { Context, Middleware, Next } from 'koa';

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

declare module 'koa' {
  interface DefaultState {
    /** The authenticated API key, set by `orkestaAuth()`. */
    auth?: AuthenticatedKey;
  }
}

interface KoaOptions {
  /**
   * The workspace the route belongs to (a path segment, a header); a key of another workspace
   * gets 403 `workspace_mismatch`. Return `undefined` for routes that name no workspace.
   */
  readonly workspace?: (ctx: Context) => string | undefined;
  /**
   * `'respond'` (default) answers failures with the contract's status, headers and
   * problem+json body. `'throw'` throws the `AuthError` (with `status`, `expose` and `headers`
   * set) for your own error handling; Koa's default handler then sends its status and headers.
   */
  readonly onFailure?: 'respond' | 'throw';
}

/** Options of `orkestaAuth`: an authenticator's options, or an authenticator built elsewhere. */
export type OrkestaAuthOptions =
  | (AuthenticatorOptions & KoaOptions & { readonly authenticator?: never })
  | (KoaOptions & { readonly authenticator: Authenticator });

/** The middleware, and the authenticator it uses: for `close()` at shutdown, or `invalidate`. */
export type OrkestaAuthMiddleware = Middleware & { readonly authenticator: Authenticator };

/** What `orkestaAuth` leaves on the context for `requireScope`. */
interface MiddlewareContext {
  readonly authenticator: Authenticator;
  readonly onFailure: 'respond' | 'throw';
}

const CONTEXT = Symbol('orkesta-auth');

interface AuthenticatedContext extends Context {
  [CONTEXT]?: MiddlewareContext;
}

/**
 * Authenticates every request it sees: sets `ctx.state.auth` and calls `next()`, or answers
 * (or throws) the contract's error. Options are checked here, once.
 */
export function orkestaAuth(options: OrkestaAuthOptions): OrkestaAuthMiddleware {
  const { authenticator, workspace, onFailure } = middlewareOptions<Context, 'throw'>(
    options,
    'throw',
  );
  const context: MiddlewareContext = { authenticator, onFailure };

  const middleware: Middleware = async function orkestaAuthMiddleware(
    ctx: AuthenticatedContext,
    next: Next,
  ) {
    ctx[CONTEXT] = context;
    // A resolver that throws is the application's bug: it propagates, and nothing is admitted.
    const workspaceId = workspace?.(ctx);
    const pending = authenticator.authenticateMaybeSync(new KoaAuthRequest(ctx, workspaceId));
    const result: AuthResult = pending instanceof Promise ? await pending : pending;
    if (result.headers !== undefined) ctx.set(result.headers);
    if (!result.ok) return fail(context, result.error, ctx);
    ctx.state.auth = result.key;
    return next();
  };
  return Object.assign(middleware, { authenticator });
}

/**
 * Admits keys of `scope` or higher; mount it after `orkestaAuth()`. The scope is checked now:
 * an unknown one throws a `ConfigurationError` at startup.
 */
export function requireScope(scope: Scope): Middleware {
  const requirement = scopeRequirement(scope);
  return function requireScopeMiddleware(ctx: AuthenticatedContext, next: Next) {
    const context = ctx[CONTEXT];
    // Without orkestaAuth() on this route there is no key, whatever ctx.state.auth may hold.
    // `ctx` itself is the origin: its `ip` and `path` getters run only if a hook reads them.
    const denied =
      context === undefined
        ? checkAccess(undefined, requirement)
        : context.authenticator.authorize(ctx.state.auth, requirement, ctx);
    if (denied !== undefined) return fail(context, denied, ctx);
    return next();
  };
}

/**
 * The request as the core reads it. Each field is read from Koa only when the core asks:
 * `secure` (which honours `app.proxy`) only when HTTPS is required, `ip` and `path` for hooks.
 */
class KoaAuthRequest implements AuthRequest {
  readonly #ctx: Context;
  readonly workspaceId: string | undefined;

  constructor(ctx: Context, workspaceId: string | undefined) {
    this.#ctx = ctx;
    this.workspaceId = workspaceId;
  }

  get authorization(): AuthorizationInput {
    return authorizationFromRawHeaders(this.#ctx.req.rawHeaders);
  }

  get secure(): boolean {
    return this.#ctx.secure;
  }

  get ip(): string {
    return this.#ctx.ip;
  }

  get path(): string {
    return this.#ctx.path;
  }
}

function fail(context: MiddlewareContext | undefined, error: AnyAuthError, ctx: Context): void {
  if (context?.onFailure === 'throw') throw context.authenticator.withHeaders(error);
  const rendered =
    context === undefined ? renderAuthError(error) : context.authenticator.render(error);
  ctx.status = rendered.status;
  ctx.set(rendered.headers);
  // A string body keeps the problem+json type set above (an object would become JSON).
  ctx.body = JSON.stringify(rendered.body);
}

export interface ServeJwksOptions extends JwksResponseOptions {
  /**
   * The path it answers (GET and HEAD), passing every other request on. Default
   * `/.well-known/jwks.json`; `false` answers every request that reaches it, for a router route.
   */
  readonly path?: string | false;
}

/**
 * Serves the issuer's JWKS, for services that verify its signed keys:
 * `app.use(serveJwks(signingKeys))` before `orkestaAuth()` (the keys are public). The response
 * (`jwksResponse`) is made once, here: a set with private key material throws a
 * `ConfigurationError` at startup.
 */
export function serveJwks(
  source: SigningKeys | JSONWebKeySet,
  options?: ServeJwksOptions,
): Middleware {
  const { path = '/.well-known/jwks.json', ...responseOptions } = optionsObject(
    options,
    ['path', 'maxAgeSeconds'],
    undefined,
    '{ path?, maxAgeSeconds? }',
  );
  if (path !== false && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new ConfigurationError('path must be a path starting with "/", or false');
  }
  const { status, headers, body } = jwksResponse(source, responseOptions);
  return function serveJwksMiddleware(ctx: Context, next: Next) {
    if (path !== false && ctx.path !== path) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    ctx.status = status;
    ctx.set(headers);
    // A string body keeps the JWKS type set above (an object would become application/json).
    ctx.body = body;
  };
}
