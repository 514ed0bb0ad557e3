import type { Scope } from '@orkesta/auth';
import { PUBLIC_METADATA, SCOPE_METADATA } from './tokens.js';

/** What the decorators say of a route (a handler of a controller class). */
export interface RouteAccess {
  readonly isPublic: boolean;
  readonly scope: Scope | undefined;
}

/**
 * How the guard reads `@Public()` and `@Scope()` for a handler of a controller class, and how
 * `openApiAccess` documents it: the handler's own decorator wins; otherwise the nearest class
 * that carries one, the controller or the base class it inherits from, so that a subclass's own
 * `@Scope()` is not opened by a base class's `@Public()`.
 */
export function routeAccess(handler: object, controller: object): RouteAccess {
  const handlerPublic: boolean | undefined = Reflect.getMetadata(PUBLIC_METADATA, handler);
  const handlerScope: Scope | undefined = Reflect.getMetadata(SCOPE_METADATA, handler);
  if (handlerPublic !== undefined) return { isPublic: handlerPublic, scope: handlerScope };
  if (handlerScope !== undefined) return { isPublic: false, scope: handlerScope };
  for (let type: object | null = controller; type !== null; type = Object.getPrototypeOf(type)) {
    if (Reflect.hasOwnMetadata(PUBLIC_METADATA, type)) {
      return { isPublic: true, scope: Reflect.getMetadata(SCOPE_METADATA, type) };
    }
    const scope: Scope | undefined = Reflect.getOwnMetadata(SCOPE_METADATA, type);
    if (scope !== undefined) return { isPublic: false, scope };
  }
  return { isPublic: false, scope: undefined };
}
