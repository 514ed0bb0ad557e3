/** The scope names (`Scope` here is the decorator). */
export type { Scope as ScopeName } from '@orkesta/auth';
export * from '@orkesta/auth';
export { ApiKey, Public, RequireScope, Scope, Workspace } from './decorators.js';
export { OrkestaAuthExceptionFilter } from './filter.js';
export { OrkestaAuthException, OrkestaAuthGuard } from './guard.js';
export type { OrkestaJwksModuleOptions } from './jwks.js';
export { OrkestaJwksModule } from './jwks.js';
export type {
  OrkestaAuthModuleAsyncOptions,
  OrkestaAuthModuleOptions,
  OrkestaAuthOptionsFactory,
} from './module.js';
export { OrkestaAuthModule } from './module.js';
export { KeyLookup, ORKESTA_AUTH_OPTIONS } from './tokens.js';
