import { METHOD_METADATA } from '@nestjs/common/constants.js';
import { PUBLIC_METADATA, SCOPE_METADATA } from './tokens.js';

/**
 * The metadata key `@nestjs/swagger` reads an operation's extensions from (what its
 * `ApiExtension` decorator writes, `DECORATORS.API_EXTENSION`). Written here by key, so that
 * this package needs no `@nestjs/swagger`; test/swagger.test.ts pins it against the real one.
 */
const SWAGGER_EXTENSIONS = 'swagger/apiExtension';

function addExtension(handler: object, name: string, value: unknown): void {
  const extensions: object = Reflect.getMetadata(SWAGGER_EXTENSIONS, handler) ?? {};
  Reflect.defineMetadata(SWAGGER_EXTENSIONS, { ...extensions, [name]: value }, handler);
}

/** Whether a handler carries a decision of its own (`@Scope` or `@Public` on the method). */
function decidesItself(handler: object): boolean {
  return (
    Reflect.hasOwnMetadata(SCOPE_METADATA, handler) ||
    Reflect.hasOwnMetadata(PUBLIC_METADATA, handler)
  );
}

/**
 * Writes an `x-orkesta-…` extension where `@nestjs/swagger` shows it on the operation: on a
 * handler, that handler; on a controller, each of its own route handlers that decides nothing
 * itself (swagger reads extensions from handlers only). So a handler's decorator wins over its
 * class's, as in the guard; a handler a controller inherits from a base class is not marked
 * (it would mark the base class's other subclasses too), and shows the default access.
 */
export function documentedFor(name: string, value: unknown): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor !== undefined) {
      addExtension(descriptor.value as object, name, value);
      return;
    }
    const prototype = (target as { prototype?: object }).prototype;
    if (prototype === undefined) return;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      const handler = Object.getOwnPropertyDescriptor(prototype, key)?.value as unknown;
      if (typeof handler !== 'function' || key === 'constructor') continue;
      if (!Reflect.hasOwnMetadata(METHOD_METADATA, handler) || decidesItself(handler)) continue;
      addExtension(handler, name, value);
    }
  };
}
