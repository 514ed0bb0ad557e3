import type { ExecutionContext } from '@nestjs/common';
import { applyDecorators, createParamDecorator, SetMetadata } from '@nestjs/common';
import type { AuthenticatedKey, Scope as ScopeName } from '@orkesta/auth';
import { OPENAPI_PUBLIC_EXTENSION, OPENAPI_SCOPE_EXTENSION } from '@orkesta/auth';
import { requireScope } from '@orkesta/auth/adapter';
import { documentedFor } from './openapi-metadata.js';
import { PUBLIC_METADATA, SCOPE_METADATA } from './tokens.js';

/**
 * The least scope a controller or handler needs; on a handler it wins over its class. An
 * unknown scope throws a `ConfigurationError` when the class is defined. Nest's own `Scope`
 * (provider scopes) has the same name: import ours as `RequireScope` where both are needed.
 * `@nestjs/swagger` shows it as the operation's `x-orkesta-scope`, which `addApiKeyAuth` reads.
 */
export const Scope = (scope: ScopeName): ClassDecorator & MethodDecorator => {
  const required = requireScope(scope).scope;
  return applyDecorators(
    SetMetadata(SCOPE_METADATA, required),
    documentedFor(OPENAPI_SCOPE_EXTENSION, required),
  );
};

/** `Scope` under a name that does not clash with `Scope` from `@nestjs/common`. */
export const RequireScope = Scope;

/**
 * Skips authentication for a controller or handler (a health check, a public webhook).
 * `@nestjs/swagger` shows it as the operation's `x-orkesta-public`, which `addApiKeyAuth` reads.
 */
export const Public = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    SetMetadata(PUBLIC_METADATA, true),
    documentedFor(OPENAPI_PUBLIC_EXTENSION, true),
  );

/** The authenticated key of the request, as a handler parameter. */
export const ApiKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthenticatedKey | undefined =>
    context.switchToHttp().getRequest<{ auth?: AuthenticatedKey }>().auth,
);

/** The workspace id of the authenticated key, as a handler parameter. */
export const Workspace = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined =>
    context.switchToHttp().getRequest<{ auth?: AuthenticatedKey }>().auth?.workspaceId,
);
