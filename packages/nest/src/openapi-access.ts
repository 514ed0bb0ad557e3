import type { INestApplicationContext } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { OpenApiOperationInfo, OperationAccess } from '@orkesta/auth';
import { ConfigurationError } from '@orkesta/auth';
import { optionsObject } from '@orkesta/auth/adapter';
import { OrkestaAuthGuard } from './guard.js';
import { routeAccess } from './route-access.js';
import { ORKESTA_AUTH_GLOBAL_GUARD } from './tokens.js';

export interface OpenApiAccessOptions {
  /**
   * The `operationIdFactory` given to `SwaggerModule.createDocument`, if any: operations are
   * matched to handlers by their id. Default `@nestjs/swagger`'s, `Controller_method`.
   */
  readonly operationIdFactory?: (controllerKey: string, methodKey: string) => string;
}

const OPTIONS: readonly (keyof OpenApiAccessOptions)[] = ['operationIdFactory'];

type Access = (operation: OpenApiOperationInfo) => OperationAccess | undefined;

/** Whether the guard runs for a handler: everywhere, or where `@UseGuards` names it. */
function guarded(handler: object, controller: object, globalGuard: boolean): boolean {
  if (globalGuard) return true;
  const guards: unknown[] = [
    ...(Reflect.getMetadata(GUARDS_METADATA, controller) ?? []),
    ...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? []),
  ];
  return guards.some(
    (guard) =>
      guard instanceof OrkestaAuthGuard ||
      (typeof guard === 'function' && guard.prototype instanceof OrkestaAuthGuard) ||
      guard === OrkestaAuthGuard,
  );
}

/** Every route handler of a controller class, its own and those it inherits, by method name. */
function routeHandlers(controller: { readonly prototype: object }): Map<string, object> {
  const handlers = new Map<string, object>();
  for (let proto: object | null = controller.prototype; proto !== null; ) {
    if (proto === Object.prototype) break;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || handlers.has(name)) continue;
      const handler = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof handler === 'function' && Reflect.hasMetadata(PATH_METADATA, handler)) {
        handlers.set(name, handler);
      }
    }
    proto = Object.getPrototypeOf(proto);
  }
  return handlers;
}

/**
 * What each route of a Nest application needs, for `addApiKeyAuth(document, { access })` on the
 * document `@nestjs/swagger` generates: `public` where the guard does not run or `@Public()`
 * skips it, the `@Scope()` it asks for, or `key`. It reads the decorators the way the guard
 * does (the handler's own, then the nearest class's, inherited handlers included), once, now;
 * operations are matched to handlers by their `operationId`. The application must import
 * `OrkestaAuthModule`.
 */
export function openApiAccess(
  app: INestApplicationContext,
  options?: OpenApiAccessOptions,
): Access {
  const given = optionsObject(options, OPTIONS, undefined, 'an object');
  const operationId =
    given.operationIdFactory ??
    ((controllerKey: string, methodKey: string) => `${controllerKey}_${methodKey}`);
  if (typeof operationId !== 'function') {
    throw new ConfigurationError(
      'operationIdFactory must be a function (controllerKey, methodKey)',
    );
  }
  let globalGuard: boolean;
  try {
    globalGuard = app.get<boolean>(ORKESTA_AUTH_GLOBAL_GUARD, { strict: false });
  } catch (cause) {
    throw new ConfigurationError(
      'openApiAccess needs an application that imports OrkestaAuthModule',
      {
        cause,
      },
    );
  }
  const byOperation = new Map<string, OperationAccess>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller: unknown = wrapper.metatype;
      if (typeof controller !== 'function') continue;
      for (const [name, handler] of routeHandlers(controller)) {
        const { isPublic, scope } = routeAccess(handler, controller);
        byOperation.set(
          operationId(controller.name, name),
          isPublic || !guarded(handler, controller, globalGuard) ? 'public' : (scope ?? 'key'),
        );
      }
    }
  }
  return ({ operationId: id }) => (id === undefined ? undefined : byOperation.get(id));
}
