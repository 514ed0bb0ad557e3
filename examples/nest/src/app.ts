import 'reflect-metadata';
import type { ArgumentsHost, DynamicModule, NestApplicationOptions } from '@nestjs/common';
import {
  Body,
  Catch,
  Controller,
  Delete,
  Get,
  HttpException,
  Inject,
  Module,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { BaseExceptionFilter, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Authenticator, KeyManager } from '@orkesta/auth-nest';
import {
  addApiKeyAuth,
  OrkestaAuthException,
  OrkestaAuthModule,
  openApiAccess,
  Public,
  Scope,
  Workspace,
} from '@orkesta/auth-nest';
import { OPENAPI_PATH, PaymentsApi, type PaymentsData, problemFor } from '@orkesta/example-shared';

export interface PaymentsAppOptions {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data?: PaymentsData;
  /** Nest's log levels. Default errors and warnings. */
  readonly logger?: NestApplicationOptions['logger'];
}

@Controller()
class HealthController {
  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }
}

/** Accounts, payments, reports and webhooks: read-only unless a handler says more. */
@Controller('v1')
@Scope('read-only')
class PaymentsController {
  constructor(@Inject(PaymentsApi) private readonly api: PaymentsApi) {}

  @Get('accounts')
  accounts(@Workspace() workspaceId: string) {
    return this.api.accounts(workspaceId);
  }

  @Get('payments')
  payments(@Workspace() workspaceId: string) {
    return this.api.payments(workspaceId);
  }

  @Get('reports')
  reports(@Workspace() workspaceId: string) {
    return this.api.reports(workspaceId);
  }

  @Post('payments')
  @Scope('read-write')
  createPayment(@Workspace() workspaceId: string, @Body() body: unknown) {
    return this.api.createPayment(workspaceId, body);
  }

  @Post('webhooks')
  @Scope('read-write')
  createWebhook(@Workspace() workspaceId: string, @Body() body: unknown) {
    return this.api.createWebhook(workspaceId, body);
  }
}

/** The workspace's settings and API keys: admin keys only. */
@Controller('v1')
@Scope('admin')
class AdminController {
  constructor(@Inject(PaymentsApi) private readonly api: PaymentsApi) {}

  @Get('workspace/settings')
  settings(@Workspace() workspaceId: string) {
    return this.api.settings(workspaceId);
  }

  @Get('api-keys')
  listKeys(@Workspace() workspaceId: string, @Query() query: Record<string, unknown>) {
    return this.api.listKeys(workspaceId, query);
  }

  @Post('api-keys')
  createKey(@Workspace() workspaceId: string, @Body() body: unknown) {
    return this.api.createKey(workspaceId, body);
  }

  @Delete('api-keys/:id')
  revokeKey(@Workspace() workspaceId: string, @Param('id') id: string) {
    return this.api.revokeKey(workspaceId, id);
  }

  @Post('api-keys/:id/rotate')
  rotateKey(@Workspace() workspaceId: string, @Param('id') id: string, @Body() body: unknown) {
    return this.api.rotateKey(workspaceId, id, body);
  }
}

/**
 * Every other failure as problem+json: what `PaymentsApi` throws, a body that is not JSON, a
 * route that does not exist. `OrkestaAuthException` goes to Nest's base filter, which sends it
 * as the core rendered it.
 */
@Catch()
class ProblemFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (exception instanceof OrkestaAuthException) {
      super.catch(exception, host);
      return;
    }
    const adapter = this.httpAdapterHost?.httpAdapter ?? this.applicationRef!;
    const problem = problemFor(
      exception instanceof HttpException ? { status: exception.getStatus() } : exception,
    );
    const response = host.switchToHttp().getResponse<unknown>();
    for (const [name, value] of Object.entries(problem.headers)) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, JSON.stringify(problem.body), problem.status);
  }
}

/**
 * The payments API as a Nest module: `OrkestaAuthModule` with the given authenticator (its
 * global guard reads `@Scope` and `@Public`), and the controllers. What each route does is
 * `PaymentsApi`'s, shared with the Express and Koa examples.
 */
@Module({})
export class PaymentsModule {
  static register(options: PaymentsAppOptions): DynamicModule {
    return {
      module: PaymentsModule,
      imports: [OrkestaAuthModule.forRoot({ authenticator: options.authenticator })],
      controllers: [HealthController, PaymentsController, AdminController],
      providers: [{ provide: PaymentsApi, useValue: new PaymentsApi(options) }],
    };
  }
}

/**
 * The payments API on NestJS's Express platform: JSON bodies up to 16 kB, failures as
 * problem+json. Listen with `app.listen(port, host)`; `app.close()` stops it.
 */
export async function createPaymentsApp(
  options: PaymentsAppOptions,
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(PaymentsModule.register(options), {
    logger: options.logger ?? ['error', 'warn'],
    abortOnError: false,
    // close() ends keep-alive connections instead of waiting for them to time out.
    forceCloseConnections: true,
  });
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '16kb' });
  app.useGlobalFilters(new ProblemFilter(app.getHttpAdapter()));
  // The OpenAPI document @nestjs/swagger generates; openApiAccess reads @Scope and @Public the
  // way the guard does, and addApiKeyAuth writes the security scheme, each route's requirement
  // and the refusal responses. Swagger UI at /docs; its routes pass no guard (public).
  const config = new DocumentBuilder()
    .setTitle('Payments (orkesta-auth demo)')
    .setVersion('1.0.0')
    .setOpenAPIVersion('3.1.0')
    .build();
  const document = addApiKeyAuth(SwaggerModule.createDocument(app, config), {
    access: openApiAccess(app),
  });
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: OPENAPI_PATH, raw: ['json'] });
  return app;
}
