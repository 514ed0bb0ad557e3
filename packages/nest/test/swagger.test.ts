import 'reflect-metadata';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { INestApplication, Type } from '@nestjs/common';
import { Controller, Get, Module, Post, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPI } from 'openapi-types';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScopeName } from '../src/index.js';
import {
  addApiKeyAuth,
  ConfigurationError,
  createKeyManager,
  MemoryKeyStore,
  OrkestaAuthGuard,
  OrkestaAuthModule,
  openApiAccess,
  Public,
  SCOPES,
  Scope,
} from '../src/index.js';

@Controller('v1/payments')
@Scope('read-only')
class PaymentsController {
  @Get()
  list() {
    return { data: [] };
  }

  @Post()
  @Scope('read-write') // the handler's scope wins over its class's
  create() {
    return { created: true };
  }

  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }
}

@Controller('v1/open')
@Public()
class OpenController {
  @Get()
  open() {
    return { open: true };
  }

  @Get('settings')
  @Scope('admin') // a handler's @Scope in a @Public() controller still needs a key
  settings() {
    return { settings: {} };
  }
}

@Controller('v1/plain')
class PlainController {
  @Get()
  plain() {
    return { plain: true };
  }
}

// Handlers inherited from base classes: one function serves several controllers, each with its
// own decorators. The nearest class that says something decides, in the guard and the document.
class UndecoratedBase {
  @Get()
  inherited() {
    return { inherited: true };
  }
}

@Public()
class PublicBase {
  @Get()
  inherited() {
    return { inherited: true };
  }
}

@Scope('admin')
class AdminBase {
  @Get()
  inherited() {
    return { inherited: true };
  }
}

@Controller('v1/sub-admin')
@Scope('admin')
class AdminOverUndecorated extends UndecoratedBase {}

@Controller('v1/sub-scoped')
@Scope('read-write') // not opened by the base class's @Public()
class ScopedOverPublic extends PublicBase {}

@Controller('v1/sub-public')
@Public()
class PublicOverAdmin extends AdminBase {}

@Controller('v1/sub-read-only')
@Scope('read-only')
class ReadOnlyOverAdmin extends AdminBase {}

const CONTROLLERS = [
  PaymentsController,
  OpenController,
  PlainController,
  AdminOverUndecorated,
  ScopedOverPublic,
  PublicOverAdmin,
  ReadOnlyOverAdmin,
];

const store = new MemoryKeyStore();
const manager = createKeyManager({ store });
const keys = Object.fromEntries(
  await Promise.all(
    SCOPES.map(async (scope) => {
      const { key } = await manager.create({
        workspaceId: 'ws_1',
        name: `swagger-${scope}`,
        scope,
      });
      return [scope, key] as const;
    }),
  ),
) as Record<ScopeName, string>;

type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  'x-orkesta-scope'?: ScopeName;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

async function start(module: Type<unknown>): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger: false });
  await app.init();
  return app;
}

function generate(app: INestApplication, version = '3.1.0'): Document {
  const config = new DocumentBuilder().setTitle('Payments').setOpenAPIVersion(version).build();
  return SwaggerModule.createDocument(app, config) as unknown as Document;
}

/** Every operation of a document: `GET /v1/payments` → the operation. */
function operations(document: Document): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return found;
}

/** What the document says each operation needs: `public`, `key` or a scope. */
function documentedAccess(document: Document): Record<string, string> {
  return Object.fromEntries(
    [...operations(document)].map(([name, op]) => [
      name,
      op.security?.length === 0 ? 'public' : (op['x-orkesta-scope'] ?? 'key'),
    ]),
  );
}

/** Sends each operation without a key and with a key of each scope: what the guard answers. */
async function expectDocumentMatchesGuard(app: INestApplication, document: Document) {
  const server = app.getHttpServer();
  for (const [name, op] of operations(document)) {
    const [method, path] = name.split(' ') as [string, string];
    const send = (key?: string) => {
      const call = method === 'POST' ? request(server).post(path) : request(server).get(path);
      return key === undefined ? call : call.set('Authorization', `Bearer ${key}`);
    };
    const answered: Record<string, number> = { none: (await send()).status };
    for (const scope of SCOPES) answered[scope] = (await send(keys[scope])).status;
    const ok = method === 'POST' ? 201 : 200;
    const needed = op['x-orkesta-scope'];
    const expected: Record<string, number> = { none: op.security?.length === 0 ? ok : 401 };
    for (const scope of SCOPES) {
      const enough = needed === undefined || SCOPES.indexOf(scope) >= SCOPES.indexOf(needed);
      expected[scope] = op.security?.length === 0 || enough ? ok : 403;
    }
    expect({ name, ...answered }).toEqual({ name, ...expected });
  }
}

describe('Swagger documents what the global guard does: openApiAccess + addApiKeyAuth', () => {
  @Module({
    imports: [OrkestaAuthModule.forRoot({ store, requireHttps: false })],
    controllers: CONTROLLERS,
  })
  class AppModule {}

  let app: INestApplication;
  let documented: Document;
  beforeAll(async () => {
    app = await start(AppModule);
    documented = addApiKeyAuth(generate(app), { access: openApiAccess(app) });
  });
  afterAll(async () => {
    await app.close();
  });

  it('each operation needs what its decorators say, inherited handlers included', () => {
    expect(documentedAccess(documented)).toEqual({
      'GET /v1/payments': 'read-only',
      'POST /v1/payments': 'read-write',
      'GET /v1/payments/health': 'public',
      'GET /v1/open': 'public',
      'GET /v1/open/settings': 'admin',
      'GET /v1/plain': 'key',
      'GET /v1/sub-admin': 'admin',
      'GET /v1/sub-scoped': 'read-write',
      'GET /v1/sub-public': 'public',
      'GET /v1/sub-read-only': 'read-only',
    });
  });

  it('is valid OpenAPI 3.1, with the scheme, requirements and refusal responses', async () => {
    await SwaggerParser.validate(structuredClone(documented) as unknown as OpenAPI.Document);
    const ops = operations(documented);
    expect(ops.get('POST /v1/payments')?.security).toEqual([{ orkestaApiKey: ['read-write'] }]);
    expect(ops.get('GET /v1/plain')?.security).toEqual([{ orkestaApiKey: [] }]);
    expect(Object.keys(ops.get('GET /v1/payments')?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '403', '429', '503']),
    );
    expect(ops.get('GET /v1/open')?.responses['401']).toBeUndefined();
  });

  it('and @nestjs/swagger’s default OpenAPI 3.0 document is valid too', async () => {
    const v30 = addApiKeyAuth(generate(app, '3.0.0'), { access: openApiAccess(app) });
    await SwaggerParser.validate(structuredClone(v30) as unknown as OpenAPI.Document);
    expect(documentedAccess(v30)).toEqual(documentedAccess(documented));
  });

  it('the document says what the guard does, for every operation and every scope', async () => {
    await expectDocumentMatchesGuard(app, documented);
  });

  it('refuses a misspelt option, and an application without OrkestaAuthModule', async () => {
    expect(() => openApiAccess(app, { operationIdFactry: () => '' } as never)).toThrow(
      ConfigurationError,
    );
    @Module({ controllers: [PlainController] })
    class Bare {}
    const bare = await start(Bare);
    try {
      expect(() => openApiAccess(bare)).toThrow(ConfigurationError);
    } finally {
      await bare.close();
    }
  });

  it('matches operations by the operationIdFactory given to SwaggerModule', () => {
    const operationIdFactory = (controller: string, method: string) => `${method}@${controller}`;
    const config = new DocumentBuilder().setTitle('Payments').build();
    const generated = SwaggerModule.createDocument(app, config, { operationIdFactory });
    const doc = addApiKeyAuth(generated as unknown as Document, {
      access: openApiAccess(app, { operationIdFactory }),
    });
    expect(documentedAccess(doc)).toEqual(documentedAccess(documented));
  });
});

describe('with globalGuard: false, only the routes @UseGuards(OrkestaAuthGuard) names need a key', () => {
  @Controller('v1/guarded')
  @UseGuards(OrkestaAuthGuard)
  @Scope('read-write')
  class GuardedController {
    @Get()
    guarded() {
      return { guarded: true };
    }
  }

  @Controller('v1/unguarded')
  @Scope('admin') // no guard runs here: the scope is never checked
  class UnguardedController {
    @Get()
    unguarded() {
      return { unguarded: true };
    }
  }

  @Module({
    imports: [OrkestaAuthModule.forRoot({ store, requireHttps: false, globalGuard: false })],
    controllers: [GuardedController, UnguardedController],
  })
  class AppModule {}

  it('documents and enforces the same', async () => {
    const app = await start(AppModule);
    try {
      const doc = addApiKeyAuth(generate(app), { access: openApiAccess(app) });
      expect(documentedAccess(doc)).toEqual({
        'GET /v1/guarded': 'read-write',
        'GET /v1/unguarded': 'public',
      });
      await expectDocumentMatchesGuard(app, doc);
    } finally {
      await app.close();
    }
  });
});
