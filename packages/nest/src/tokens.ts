import type { KeyLookup as CoreKeyLookup } from '@orkesta/auth';

/**
 * The key store's injection token, named like the interface it stands for:
 * `{ provide: KeyLookup, useClass: PrismaKeyStore }`, `@Inject(KeyLookup) store: KeyLookup`.
 */
export const KeyLookup: unique symbol = Symbol.for('@orkesta/auth-nest:KeyLookup');
export type KeyLookup = CoreKeyLookup;

/** The module options, as `forRoot` got them or `forRootAsync` made them. */
export const ORKESTA_AUTH_OPTIONS: unique symbol = Symbol.for('@orkesta/auth-nest:options');

/** Whether the module registered its guard for every route (`globalGuard`, default `true`). */
export const ORKESTA_AUTH_GLOBAL_GUARD: unique symbol = Symbol.for(
  '@orkesta/auth-nest:global-guard',
);

/** Metadata keys the decorators write and the guard reads. */
export const SCOPE_METADATA = 'orkesta-auth:scope';
export const PUBLIC_METADATA = 'orkesta-auth:public';
