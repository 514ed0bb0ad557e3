import 'reflect-metadata';
import type { ExecutionContext, INestApplication } from '@nestjs/common';
import { Controller, Get, HttpCode, Injectable, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AuthenticatedKey, Authenticator, SigningKeys } from '@orkesta/auth';
import {
  ApiKey,
  OrkestaAuthGuard,
  OrkestaAuthModule,
  OrkestaJwksModule,
  Scope,
} from '@orkesta/auth-nest';
import type { AdapterHarness, HarnessOptions, RunningApp } from './harness.js';
import { baseUrlOf, TRUST_SETTING } from './harness.js';

const view = (key: AuthenticatedKey) => ({
  keyId: key.keyId,
  workspaceId: key.workspaceId,
  scope: key.scope,
});

@Controller()
class ContractController {
  @Get('read')
  @Scope('read-only')
  read(@ApiKey() key: AuthenticatedKey) {
    return view(key);
  }

  @Post('write')
  @HttpCode(200)
  @Scope('read-write')
  write(@ApiKey() key: AuthenticatedKey) {
    return view(key);
  }

  @Get('admin')
  @Scope('admin')
  admin(@ApiKey() key: AuthenticatedKey) {
    return view(key);
  }

  @Get('workspaces/:workspaceId/read')
  @Scope('read-only')
  workspaceRead(@ApiKey() key: AuthenticatedKey) {
    return view(key);
  }
}

/** The extension point the guard offers: the route's workspace from its path parameter. */
@Injectable()
class WorkspaceGuard extends OrkestaAuthGuard {
  protected override workspaceOf(context: ExecutionContext): string | undefined {
    return context.switchToHttp().getRequest<{ params?: Record<string, string> }>().params
      ?.workspaceId;
  }
}

function contractModule(authenticator: Authenticator, signing: SigningKeys | undefined) {
  @Module({
    imports: [
      OrkestaAuthModule.forRoot({ authenticator, globalGuard: false }),
      ...(signing === undefined ? [] : [OrkestaJwksModule.forRoot({ jwks: signing })]),
    ],
    controllers: [ContractController],
    providers: [{ provide: APP_GUARD, useClass: WorkspaceGuard }],
  })
  class ContractModule {}
  return { ContractModule, authenticator };
}

async function listen(app: INestApplication, options: HarnessOptions): Promise<RunningApp> {
  await app.listen(0, '127.0.0.1');
  return { baseUrl: baseUrlOf(app.getHttpServer(), options), close: () => app.close() };
}

export const nestExpressHarness: AdapterHarness = {
  name: 'nest-express',
  proxyTrusts: ['loopback', 'none', 'elsewhere'],
  async start(authenticator, options = {}) {
    const { ContractModule } = contractModule(authenticator, options.signing);
    const app = await NestFactory.create<NestExpressApplication>(ContractModule, {
      logger: options.logger ?? false,
      abortOnError: false,
      ...(options.tls === undefined ? {} : { httpsOptions: options.tls }),
    });
    app.set('trust proxy', TRUST_SETTING[options.proxy ?? 'loopback']);
    return listen(app, options);
  },
};

export const nestFastifyHarness: AdapterHarness = {
  name: 'nest-fastify',
  proxyTrusts: ['loopback', 'none', 'elsewhere'],
  async start(authenticator, options = {}) {
    const { ContractModule } = contractModule(authenticator, options.signing);
    const trust = options.proxy ?? 'loopback';
    const app = await NestFactory.create<NestFastifyApplication>(
      ContractModule,
      new FastifyAdapter({
        trustProxy: trust === 'loopback' ? '127.0.0.1' : TRUST_SETTING[trust],
        ...(options.tls === undefined ? {} : { https: options.tls }),
      }),
      { logger: options.logger ?? false, abortOnError: false },
    );
    return listen(app, options);
  },
};
