import type {
  DynamicModule,
  InjectionToken,
  ModuleMetadata,
  OnApplicationShutdown,
  OptionalFactoryDependency,
  Provider,
  Type,
} from '@nestjs/common';
import { Inject, Injectable, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { AuthenticatorOptions } from '@orkesta/auth';
import { Authenticator, ConfigurationError } from '@orkesta/auth';
import {
  AUTHENTICATOR_OPTIONS,
  authenticatorFromOptions,
  rejectUnknownOptions,
} from '@orkesta/auth/adapter';
import { OrkestaAuthExceptionFilter } from './filter.js';
import { OrkestaAuthGuard } from './guard.js';
import { KeyLookup, ORKESTA_AUTH_GLOBAL_GUARD, ORKESTA_AUTH_OPTIONS } from './tokens.js';

/**
 * The authenticator's options. `store` may be left out when a provider of the `KeyLookup` token
 * is visible to the module (an imported module of yours that provides and exports it).
 */
export type OrkestaAuthModuleOptions =
  | (Omit<AuthenticatorOptions, 'store'> & {
      readonly store?: AuthenticatorOptions['store'];
      readonly authenticator?: never;
    })
  | { readonly authenticator: Authenticator };

interface GuardPlacement {
  /**
   * `true` (default) guards every route of the application (APP_GUARD); `false` leaves it to
   * `@UseGuards(OrkestaAuthGuard)` on the controllers that want it.
   */
  readonly globalGuard?: boolean;
}

export interface OrkestaAuthOptionsFactory {
  createOrkestaAuthOptions(): OrkestaAuthModuleOptions | Promise<OrkestaAuthModuleOptions>;
}

export interface OrkestaAuthModuleAsyncOptions
  extends GuardPlacement,
    Pick<ModuleMetadata, 'imports'> {
  readonly useFactory?: (
    ...args: never[]
  ) => OrkestaAuthModuleOptions | Promise<OrkestaAuthModuleOptions>;
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  readonly useClass?: Type<OrkestaAuthOptionsFactory>;
  readonly useExisting?: Type<OrkestaAuthOptionsFactory>;
}

const ASYNC_OPTIONS = ['imports', 'useFactory', 'inject', 'useClass', 'useExisting', 'globalGuard'];

/**
 * API-key authentication for a Nest application: provides the `Authenticator`, the
 * `OrkestaAuthGuard` (global by default) and the filter that sends its refusals as the
 * contract says. Global, so the guard and the authenticator can be injected anywhere.
 */
@Module({})
export class OrkestaAuthModule {
  static forRoot(options: OrkestaAuthModuleOptions & GuardPlacement): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('OrkestaAuthModule.forRoot(options) needs options');
    }
    rejectUnknownOptions(options, [...AUTHENTICATOR_OPTIONS, 'authenticator', 'globalGuard']);
    const { globalGuard, ...authOptions } = options;
    return buildModule(globalGuard, [{ provide: ORKESTA_AUTH_OPTIONS, useValue: authOptions }], []);
  }

  static forRootAsync(options: OrkestaAuthModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('OrkestaAuthModule.forRootAsync(options) needs options');
    }
    rejectUnknownOptions(options, ASYNC_OPTIONS);
    const ways = [options.useFactory, options.useClass, options.useExisting].filter(
      (w) => w !== undefined,
    );
    if (ways.length !== 1) {
      throw new ConfigurationError(
        'forRootAsync needs exactly one of useFactory, useClass, useExisting',
      );
    }
    const providers: Provider[] = [];
    if (options.useFactory !== undefined) {
      providers.push({
        provide: ORKESTA_AUTH_OPTIONS,
        useFactory: options.useFactory,
        inject: options.inject ?? [],
      });
    } else {
      const factoryClass = (options.useClass ?? options.useExisting)!;
      if (options.useClass !== undefined)
        providers.push({ provide: factoryClass, useClass: factoryClass });
      providers.push({
        provide: ORKESTA_AUTH_OPTIONS,
        useFactory: (factory: OrkestaAuthOptionsFactory) => factory.createOrkestaAuthOptions(),
        inject: [factoryClass],
      });
    }
    return buildModule(options.globalGuard, providers, options.imports ?? []);
  }
}

/**
 * Closes the authenticator when the application shuts down (pending last-used times written,
 * change feed left), unless the application handed in an authenticator of its own to manage.
 */
@Injectable()
class AuthenticatorShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(ORKESTA_AUTH_OPTIONS) private readonly options: OrkestaAuthModuleOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.options.authenticator === undefined) await this.authenticator.close();
  }
}

function buildModule(
  globalGuard: boolean | undefined,
  optionProviders: Provider[],
  imports: NonNullable<ModuleMetadata['imports']>,
): DynamicModule {
  if (globalGuard !== undefined && typeof globalGuard !== 'boolean') {
    throw new ConfigurationError('globalGuard must be true or false');
  }
  const authenticator: Provider = {
    provide: Authenticator,
    useFactory: (options: OrkestaAuthModuleOptions, injected: KeyLookup | undefined) => {
      if ('globalGuard' in options) {
        throw new ConfigurationError(
          'globalGuard belongs beside useFactory/useClass/useExisting, not in the options they make',
        );
      }
      if (options.authenticator !== undefined) return authenticatorFromOptions(options, []);
      const store = options.store ?? injected;
      if (store === undefined) {
        throw new ConfigurationError(
          'OrkestaAuthModule needs a store: give options.store, or import a module that provides KeyLookup',
        );
      }
      return authenticatorFromOptions({ ...options, store }, []);
    },
    inject: [ORKESTA_AUTH_OPTIONS, { token: KeyLookup, optional: true }],
  };
  return {
    module: OrkestaAuthModule,
    global: true,
    imports,
    providers: [
      ...optionProviders,
      authenticator,
      OrkestaAuthGuard,
      AuthenticatorShutdown,
      { provide: APP_FILTER, useClass: OrkestaAuthExceptionFilter },
      { provide: ORKESTA_AUTH_GLOBAL_GUARD, useValue: globalGuard !== false },
      ...(globalGuard === false ? [] : [{ provide: APP_GUARD, useExisting: OrkestaAuthGuard }]),
    ],
    exports: [Authenticator, OrkestaAuthGuard],
  };
}
