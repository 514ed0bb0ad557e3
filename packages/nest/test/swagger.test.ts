import 'reflect-metadata';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { INestApplication } from '@nestjs/common';
import { Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiExtension, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPI } from 'openapi-types';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScopeName } from '../src/index.js';
import {
  addApiKeyAuth,
  createKeyManager,
  MemoryKeyStore,
  OrkestaAuthModule,
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
  @ApiExtension('x-team', 'payments') // the user's own extensions stay
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

const store = new MemoryKeyStore();
const manager = createKeyManager({ store });
const keys = Object.fromEntries(
  await Promise.all(
    SCOPES.map(
      async (scope) =>
        [
          scope,
          (await manager.create({ workspaceId: 'ws_1', name: `swagger-${scope}`, scope })).key,
        ] as const,
    ),
  ),
) as Record<ScopeName, string>;

@Module({
  imports: [OrkestaAuthModule.forRoot({ store, requireHttps: false })],
  controllers: [PaymentsController, OpenController, PlainController],
})
class AppModule {}

type Json = Record<string, unknown>;
type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  'x-orkesta-scope'?: string;
  'x-orkesta-public'?: boolean;
  'x-team'?: string;
};

let app: INestApplication;
let generated: Json & { openapi: string; paths: Record<string, Record<string, Operation>> };
let documented: typeof generated;

beforeAll(async () => {
  app = await NestFactory.create(AppModule, { logger: false });
  await app.init();
  const config = new DocumentBuilder().setTitle('Payments').setOpenAPIVersion('3.1.0').build();
  generated = SwaggerModule.createDocument(app, config) as unknown as typeof generated;
  documented = addApiKeyAuth(generated);
});

afterAll(async () => {
  await app.close();
});

/** Every operation of a document: `GET /v1/payments` → the operation. */
function operations(document: typeof generated): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return found;
}

describe('@nestjs/swagger shows @Scope and @Public', () => {
  it('as x-orkesta-scope and x-orkesta-public on the operations swagger generates', () => {
    const shown = Object.fromEntries(
      [...operations(generated)].map(([name, op]) => [
        name,
        op['x-orkesta-public'] === true ? 'public' : (op['x-orkesta-scope'] ?? 'key'),
      ]),
    );
    expect(shown).toEqual({
      'GET /v1/payments': 'read-only',
      'POST /v1/payments': 'read-write',
      'GET /v1/payments/health': 'public',
      'GET /v1/open': 'public',
      'GET /v1/open/settings': 'admin',
      'GET /v1/plain': 'key',
    });
    expect(operations(generated).get('POST /v1/payments')?.['x-team']).toBe('payments');
  });

  it('addApiKeyAuth turns them into security requirements and refusal responses, valid OpenAPI 3.1', async () => {
    await SwaggerParser.validate(structuredClone(documented) as unknown as OpenAPI.Document);
    const ops = operations(documented);
    expect(ops.get('POST /v1/payments')?.security).toEqual([{ orkestaApiKey: ['read-write'] }]);
    expect(ops.get('GET /v1/plain')?.security).toEqual([{ orkestaApiKey: [] }]);
    expect(ops.get('GET /v1/payments/health')?.security).toEqual([]);
    expect(Object.keys(ops.get('GET /v1/payments')?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '403', '429', '503']),
    );
    expect(ops.get('GET /v1/open')?.responses['401']).toBeUndefined();
    expect(documented.components).toMatchObject({
      securitySchemes: { orkestaApiKey: { type: 'http', scheme: 'bearer' } },
    });
  });

  it('the document says what the guard does, for every operation and every scope', async () => {
    const server = app.getHttpServer();
    for (const [name, op] of operations(documented)) {
      const [method, path] = name.split(' ') as [string, string];
      const send = (key?: string) => {
        const call = method === 'POST' ? request(server).post(path) : request(server).get(path);
        return key === undefined ? call : call.set('Authorization', `Bearer ${key}`);
      };
      const needed = op['x-orkesta-scope'] as ScopeName | undefined;
      const statuses = {
        none: (await send()).status,
        ...Object.fromEntries(
          await Promise.all(SCOPES.map(async (scope) => [scope, (await send(keys[scope])).status])),
        ),
      };
      const ok = method === 'POST' ? 201 : 200;
      const expected =
        op.security?.length === 0
          ? { none: ok, 'read-only': ok, 'read-write': ok, admin: ok }
          : Object.fromEntries([
              ['none', 401],
              ...SCOPES.map((scope) => [
                scope,
                needed === undefined || SCOPES.indexOf(scope) >= SCOPES.indexOf(needed) ? ok : 403,
              ]),
            ]);
      expect({ name, ...statuses }).toEqual({ name, ...expected });
    }
  });
});
