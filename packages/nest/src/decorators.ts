import type { ExecutionContext } from '@nestjs/common';
import { createParamDecorator, SetMetadata } from '@nestjs/common';
import type { AuthenticatedKey, Scope as ScopeName } from '@orkesta/auth';
import { requireScope } from '@orkesta/auth/adapter';
import { PUBLIC_METADATA, SCOPE_METADATA } from './tokens.js';

/**
 * The least scope a controller or handler needs; on a handler it wins over its class. An
 * unknown scope throws a `ConfigurationError` when the class is defined. Nest's own `Scope`
 * (provider scopes) has the same name: import ours as `RequireScope` where both are needed.
 */
export const Scope = (scope: ScopeName): ClassDecorator & MethodDecorator =>
  SetMetadata(SCOPE_METADATA, requireScope(scope).scope);

/** `Scope` under a name that does not clash with `Scope` from `@nestjs/common`. */
export const RequireScope = Scope;

/** Skips authentication for a controller or handler (a health check, a public webhook). */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC_METADATA, true);

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
