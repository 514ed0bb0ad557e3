import type { DynamicModule } from '@nestjs/common';
import { Controller, Get, Inject, Module, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { JSONWebKeySet, JwksResponse, JwksResponseOptions, SigningKeys } from '@orkesta/auth';
import { ConfigurationError, jwksResponse } from '@orkesta/auth';
import { rejectUnknownOptions } from '@orkesta/auth/adapter';
import { Public } from './decorators.js';

export interface OrkestaJwksModuleOptions extends JwksResponseOptions {
  /** The issuer's keys: its `SigningKeys`, or a JWKS of public keys. */
  readonly jwks: SigningKeys | JSONWebKeySet;
  /** The route, under any global prefix. Default `.well-known/jwks.json`. */
  readonly path?: string;
}

/**
 * Serves the issuer's JWKS on one `@Public()` GET route, so that services verifying its signed
 * keys can fetch it, on Express and on Fastify. The response is made once, at startup (a set
 * with private key material throws a `ConfigurationError`):
 *
 *     imports: [OrkestaJwksModule.forRoot({ jwks: signingKeys })]
 */
@Module({})
export class OrkestaJwksModule {
  static forRoot(options: OrkestaJwksModuleOptions): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('OrkestaJwksModule.forRoot(options) needs { jwks }');
    }
    rejectUnknownOptions(options, ['jwks', 'path', 'maxAgeSeconds']);
    const { jwks, path = '.well-known/jwks.json', ...responseOptions } = options;
    if (typeof path !== 'string' || path.length === 0) {
      throw new ConfigurationError('path must be a non-empty route path');
    }
    const response = jwksResponse(jwks, responseOptions);

    @Controller()
    class OrkestaJwksController {
      constructor(@Inject(HttpAdapterHost) readonly adapterHost: HttpAdapterHost) {}

      @Get(path)
      @Public()
      jwks(@Res() reply: unknown): void {
        send(this.adapterHost, reply, response);
      }
    }

    return { module: OrkestaJwksModule, controllers: [OrkestaJwksController] };
  }
}

function send(host: HttpAdapterHost, reply: unknown, response: JwksResponse): void {
  const { httpAdapter } = host;
  for (const [name, value] of Object.entries(response.headers)) {
    httpAdapter.setHeader(reply, name, value);
  }
  httpAdapter.reply(reply, response.body, response.status);
}
