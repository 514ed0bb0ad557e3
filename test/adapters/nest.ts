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
import type { AdapterHarness, RunningApp } from './harness.js';

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

function contractModule(authenticator: Authenticator, signing: SigningKeys) {
  @Module({
    imports: [
      OrkestaAuthModule.forRoot({ authenticator, globalGuard: false }),
      OrkestaJwksModule.forRoot({ jwks: signing }),
    ],
    controllers: [ContractController],
    providers: [{ provide: APP_GUARD, useClass: WorkspaceGuard }],
  })
  class ContractModule {}
  return { ContractModule, authenticator };
}

async function listen(app: INestApplication): Promise<RunningApp> {
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { baseUrl: url, close: () => app.close() };
}

export const nestExpressHarness: AdapterHarness = {
  name: 'nest-express',
  async start(authenticator, signing) {
    const { ContractModule } = contractModule(authenticator, signing);
    const app = await NestFactory.create<NestExpressApplication>(ContractModule, {
      logger: false,
      abortOnError: false,
    });
    app.set('trust proxy', 'loopback');
    return listen(app);
  },
};

export const nestFastifyHarness: AdapterHarness = {
  name: 'nest-fastify',
  async start(authenticator, signing) {
    const { ContractModule } = contractModule(authenticator, signing);
    const app = await NestFactory.create<NestFastifyApplication>(
      ContractModule,
      new FastifyAdapter({ trustProxy: '127.0.0.1' }),
      { logger: false, abortOnError: false },
    );
    return listen(app);
  },
};
