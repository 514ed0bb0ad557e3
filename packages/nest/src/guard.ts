import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { HttpException, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type {
  AnyAuthError,
  AuthenticatedKey,
  AuthRequest,
  AuthResult,
  RenderedError,
  Scope,
} from '@orkesta/auth';
import { Authenticator, ConfigurationError } from '@orkesta/auth';
import type { AuthorizationInput } from '@orkesta/auth/adapter';
import { authorizationFromRawHeaders } from '@orkesta/auth/adapter';
import type { RouteAccess } from './route-access.js';
import { routeAccess } from './route-access.js';

/**
 * A refusal: an `HttpException` whose response is the problem body, thrown after the guard has
 * set the challenge headers on the response. The module's `OrkestaAuthExceptionFilter` sends
 * it exactly as rendered; a catch-all filter built on Nest's `BaseExceptionFilter` still sends
 * the same status, headers and body.
 */
export class OrkestaAuthException extends HttpException {
  readonly error: AnyAuthError;
  readonly rendered: RenderedError;

  constructor(error: AnyAuthError, rendered: RenderedError) {
    super(rendered.body, rendered.status);
    this.error = error;
    this.rendered = rendered;
  }
}

/** The request objects of the two HTTP platforms, as far as the guard reads them. */
interface ExpressLikeRequest {
  readonly rawHeaders: string[];
  readonly secure: boolean;
  readonly ip?: string;
  readonly path?: string;
  auth?: AuthenticatedKey;
}
interface FastifyLikeRequest {
  readonly raw: { readonly rawHeaders: string[] };
  readonly protocol: string;
  readonly ip?: string;
  readonly url: string;
  auth?: AuthenticatedKey;
}
type PlatformRequest = ExpressLikeRequest | FastifyLikeRequest;
/** Express and Fastify replies both have `header()`. */
interface PlatformResponse {
  header(name: string, value: string): unknown;
}

type Handler = ReturnType<ExecutionContext['getHandler']>;
type Controller = ReturnType<ExecutionContext['getClass']>;

/**
 * Authenticates every request that reaches a route, unless the route or its controller is
 * `@Public()`, and checks its `@Scope()`. Extension points are protected methods: override
 * `workspaceOf` to check a route's workspace, for example.
 */
@Injectable()
export class OrkestaAuthGuard implements CanActivate {
  /**
   * Route metadata, read once per handler and class (a handler inherited by several controller
   * classes is one function): decorators are applied when classes are defined, so what they say
   * does not change while the application runs, and reading it is most of a guard's own cost.
   */
  readonly #routes = new WeakMap<Handler, WeakMap<Controller, RouteAccess>>();

  constructor(
    protected readonly reflector: Reflector,
    @Inject(Authenticator) protected readonly authenticator: Authenticator,
  ) {}

  /**
   * Answers synchronously when the core does (a cached key, any refusal before a lookup), so
   * Nest need not wait a turn of the event loop; returns a promise only while a key is looked up.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    if (context.getType() !== 'http') {
      // Fail closed, and say why: this guard reads HTTP requests only.
      throw new ConfigurationError(
        `OrkestaAuthGuard guards HTTP requests only, not "${context.getType()}": mark the handler @Public() or set globalGuard: false`,
      );
    }
    // An HTTP handler's arguments are (request, response, next). switchToHttp() would give the
    // same two, at the price of three closures added to the context on every request.
    const request = context.getArgByIndex<PlatformRequest>(0);
    const response = context.getArgByIndex<PlatformResponse>(1);
    const result = this.authenticator.authenticateMaybeSync(
      this.toAuthRequest(request, this.workspaceOf(context), this.requiredScope(context)),
    );
    return result instanceof Promise
      ? result.then((settled) => this.#conclude(settled, request, response))
      : this.#conclude(result, request, response);
  }

  /** Admits the request with its key, or throws the refusal with its headers set. */
  #conclude(result: AuthResult, request: PlatformRequest, response: PlatformResponse): true {
    if (result.headers !== undefined) {
      for (const name in result.headers) response.header(name, result.headers[name]!);
    }
    if (result.ok) {
      request.auth = result.key;
      return true;
    }
    const rendered = this.authenticator.render(result.error);
    // Set here as well as by the module's filter, so that any filter that sends the exception
    // sends the challenge and Retry-After too.
    for (const name in rendered.headers) response.header(name, rendered.headers[name]!);
    throw new OrkestaAuthException(result.error, rendered);
  }

  /**
   * Whether authentication is skipped: `@Public()` on the handler, or on its class unless the
   * handler asks for a `@Scope()` of its own (the handler wins over its class).
   */
  protected isPublic(context: ExecutionContext): boolean {
    return this.#route(context).isPublic;
  }

  /** The `@Scope()` of the handler, else of its class. */
  protected requiredScope(context: ExecutionContext): Scope | undefined {
    return this.#route(context).scope;
  }

  #route(context: ExecutionContext): RouteAccess {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byClass = this.#routes.get(handler);
    let route = byClass?.get(controller);
    if (route === undefined) {
      route = routeAccess(handler, controller);
      if (byClass === undefined) {
        byClass = new WeakMap();
        this.#routes.set(handler, byClass);
      }
      byClass.set(controller, route);
    }
    return route;
  }

  /**
   * The workspace the route belongs to; a key of another gets 403 `workspace_mismatch`. None by
   * default: override to read a path parameter or a header.
   */
  protected workspaceOf(_context: ExecutionContext): string | undefined {
    return undefined;
  }

  /** The platform's request as the core reads it (Express or Fastify, trust-proxy honoured). */
  protected toAuthRequest(
    request: PlatformRequest,
    workspaceId: string | undefined,
    requiredScope: Scope | undefined,
  ): AuthRequest {
    return 'raw' in request
      ? new FastifyAuthRequest(request, workspaceId, requiredScope)
      : new ExpressAuthRequest(request, workspaceId, requiredScope);
  }
}

/** Fields are read from the platform only when the core asks (`ip` and `path` for hooks). */
class ExpressAuthRequest implements AuthRequest {
  constructor(
    readonly request: ExpressLikeRequest,
    readonly workspaceId: string | undefined,
    readonly requiredScope: Scope | undefined,
  ) {}
  get authorization(): AuthorizationInput {
    return authorizationFromRawHeaders(this.request.rawHeaders);
  }
  get secure(): boolean {
    return this.request.secure;
  }
  get ip(): string | undefined {
    return this.request.ip;
  }
  get path(): string | undefined {
    return this.request.path;
  }
}

class FastifyAuthRequest implements AuthRequest {
  constructor(
    readonly request: FastifyLikeRequest,
    readonly workspaceId: string | undefined,
    readonly requiredScope: Scope | undefined,
  ) {}
  get authorization(): AuthorizationInput {
    return authorizationFromRawHeaders(this.request.raw.rawHeaders);
  }
  get secure(): boolean {
    return this.request.protocol === 'https';
  }
  get ip(): string | undefined {
    return this.request.ip;
  }
  get path(): string | undefined {
    return this.request.url.split('?')[0];
  }
}
