import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type {
  AnyAuthError,
  AuthenticatedKey,
  AuthorizationInput,
  AuthRequest,
  RenderedError,
  Scope,
} from '@orkesta/auth';
import { Authenticator, authorizationFromRawHeaders } from '@orkesta/auth';
import { PUBLIC_METADATA, SCOPE_METADATA } from './tokens.js';

/**
 * A refusal on its way to `OrkestaAuthExceptionFilter`, which sends `rendered` as it is. Not an
 * `HttpException`: Nest's own filter would send it as plain JSON without the challenge headers.
 */
export class OrkestaAuthException extends Error {
  readonly error: AnyAuthError;
  readonly rendered: RenderedError;

  constructor(error: AnyAuthError, rendered: RenderedError) {
    super(error.message);
    this.error = error;
    this.rendered = rendered;
  }

  override get name(): string {
    return 'OrkestaAuthException';
  }

  /** The HTTP status, for filters and loggers that look for one. */
  getStatus(): number {
    return this.rendered.status;
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

/**
 * Authenticates every request that reaches a route, unless the route or its controller is
 * `@Public()`, and checks its `@Scope()`. Extension points are protected methods: override
 * `workspaceOf` to check a route's workspace, for example.
 */
@Injectable()
export class OrkestaAuthGuard implements CanActivate {
  constructor(
    protected readonly reflector: Reflector,
    @Inject(Authenticator) protected readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic(context)) return true;
    const request = context.switchToHttp().getRequest<PlatformRequest>();
    const result = await this.authenticator.authenticateMaybeSync(
      this.toAuthRequest(request, this.workspaceOf(context), this.requiredScope(context)),
    );
    if (!result.ok)
      throw new OrkestaAuthException(result.error, this.authenticator.render(result.error));
    request.auth = result.key;
    return true;
  }

  /** Whether the handler or its class is `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  /** The `@Scope()` of the handler, else of its class. */
  protected requiredScope(context: ExecutionContext): Scope | undefined {
    return this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
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
