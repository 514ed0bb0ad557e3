import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ArgumentsHost, ExceptionFilter, INestApplication } from '@nestjs/common';
import {
  Catch,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Scope as ProviderScope,
  UseGuards,
} from '@nestjs/common';
import {
  APP_FILTER,
  APP_GUARD,
  BaseExceptionFilter,
  HttpAdapterHost,
  NestFactory,
  Reflector,
} from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/internal';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { AuthenticatedKey, OrkestaAuthOptionsFactory, ScopeName } from '../src/index.js';
import {
  ApiKey,
  Authenticator,
  ConfigurationError,
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
  KeyLookup,
  MemoryKeyStore,
  OrkestaAuthException,
  OrkestaAuthGuard,
  OrkestaAuthModule,
  OrkestaJwksModule,
  Public,
  RequireScope,
  Scope,
  Workspace,
} from '../src/index.js';

const store = new MemoryKeyStore();
const manager = createKeyManager({ store });
const issue = async (scope: 'read-only' | 'read-write' | 'admin') =>
  (await manager.create({ workspaceId: 'ws_1', name: `nest-${scope}`, scope })).key;
const keys = {
  readOnly: await issue('read-only'),
  readWrite: await issue('read-write'),
  admin: await issue('admin'),
};

@Controller('payments')
@Scope('read-write')
class PaymentsController {
  @Get()
  @RequireScope('read-only') // the handler's scope wins over its class's
  list(@ApiKey() key: AuthenticatedKey, @Workspace() workspace: string) {
    return { keyId: key.keyId, workspace };
  }

  @Get('create')
  create(@ApiKey() key: AuthenticatedKey) {
    return { scope: key.scope };
  }

  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }

  @Get('domain')
  @Scope('read-only')
  domain(): never {
    throw new DomainError('not ours');
  }
}

/** The application's own filter for its own errors: ours must still answer auth failures. */
class DomainError extends Error {}

@Catch(DomainError)
class DomainFilter implements ExceptionFilter {
  catch(_error: DomainError, host: ArgumentsHost) {
    host.switchToHttp().getResponse().status(418).json({ domain: true });
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(
  imports: unknown[],
  extra: { controllers?: unknown[]; providers?: unknown[] } = {},
) {
  @Module({
    imports: imports as never[],
    controllers: (extra.controllers ?? [PaymentsController]) as never[],
    providers: [
      { provide: APP_FILTER, useClass: DomainFilter },
      ...((extra.providers ?? []) as never[]),
    ],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
  await app.init();
  apps.push(app);
  return request(app.getHttpServer());
}

const local = { requireHttps: false } as const;

describe('OrkestaAuthModule.forRoot with the global guard', () => {
  it('admits by @Scope (handler over class), skips @Public, injects @ApiKey and @Workspace', async () => {
    const http = await start([OrkestaAuthModule.forRoot({ store, ...local })]);
    const list = await http.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ keyId: keys.readOnly.split('_')[2], workspace: 'ws_1' });

    const create = await http
      .get('/payments/create')
      .set('Authorization', `Bearer ${keys.readOnly}`);
    expect(create.status).toBe(403);
    expect(create.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(create.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="read-write"',
    );
    expect(create.body.code).toBe('insufficient_scope');
    expect(
      (await http.get('/payments/create').set('Authorization', `Bearer ${keys.admin}`)).body,
    ).toEqual({
      scope: 'admin',
    });

    expect((await http.get('/payments/health')).status).toBe(200);
    // The application's filter still handles its own errors.
    const domain = await http
      .get('/payments/domain')
      .set('Authorization', `Bearer ${keys.readOnly}`);
    expect(domain.status).toBe(418);
    expect(domain.body).toEqual({ domain: true });
    const missing = await http.get('/payments');
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('missing_api_key');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
  });
});

describe('OrkestaAuthModule.forRootAsync', () => {
  @Module({ providers: [{ provide: KeyLookup, useValue: store }], exports: [KeyLookup] })
  class StoreModule {}

  @Injectable()
  class OptionsFactory implements OrkestaAuthOptionsFactory {
    createOrkestaAuthOptions() {
      return { store, ...local };
    }
  }

  it('useFactory with inject and imports, the store coming through the KeyLookup token', async () => {
    const http = await start([
      OrkestaAuthModule.forRootAsync({
        imports: [StoreModule],
        inject: [KeyLookup],
        useFactory: (lookup: KeyLookup) => ({ store: lookup, ...local }),
      }),
    ]);
    expect(
      (await http.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(200);
  });

  it('a provider of KeyLookup in an imported module is the store when options name none', async () => {
    const http = await start([
      OrkestaAuthModule.forRootAsync({ imports: [StoreModule], useFactory: () => ({ ...local }) }),
    ]);
    expect(
      (await http.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(200);
    expect((await http.get('/payments').set('Authorization', 'Bearer x')).body.code).toBe(
      'invalid_api_key',
    );
  });

  it('useClass and useExisting', async () => {
    const viaClass = await start([OrkestaAuthModule.forRootAsync({ useClass: OptionsFactory })]);
    expect(
      (await viaClass.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(200);

    @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
    class FactoryModule {}
    const viaExisting = await start([
      OrkestaAuthModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFactory }),
    ]);
    expect(
      (await viaExisting.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(200);
  });

  it('refuses to start without a store, and with zero or two ways to make options', async () => {
    await expect(
      start([OrkestaAuthModule.forRootAsync({ useFactory: () => ({ ...local }) })]),
    ).rejects.toBeInstanceOf(ConfigurationError);
    expect(() => OrkestaAuthModule.forRootAsync({})).toThrow(ConfigurationError);
    expect(() =>
      OrkestaAuthModule.forRootAsync({ useClass: OptionsFactory, useExisting: OptionsFactory }),
    ).toThrow(ConfigurationError);
    expect(() => OrkestaAuthModule.forRoot({ store, globalGuard: 'yes' } as never)).toThrow(
      ConfigurationError,
    );
  });
});

describe('per-controller guard', () => {
  @Controller('open')
  class OpenController {
    @Get()
    open() {
      return { open: true };
    }
  }

  @Controller('guarded')
  @UseGuards(OrkestaAuthGuard)
  class GuardedController {
    @Get()
    @Scope('read-only')
    guarded(@Workspace() workspace: string) {
      return { workspace };
    }
  }

  it('with globalGuard: false only @UseGuards(OrkestaAuthGuard) controllers authenticate', async () => {
    const http = await start([OrkestaAuthModule.forRoot({ store, ...local, globalGuard: false })], {
      controllers: [OpenController, GuardedController],
    });
    expect((await http.get('/open')).body).toEqual({ open: true });
    expect((await http.get('/guarded')).status).toBe(401);
    expect(
      (await http.get('/guarded').set('Authorization', `Bearer ${keys.readOnly}`)).body,
    ).toEqual({
      workspace: 'ws_1',
    });
  });
});

describe('answers that hold whatever the application adds', () => {
  @Controller('open-class')
  @Public()
  class PublicClassController {
    @Get()
    open() {
      return { open: true };
    }

    @Get('admin')
    @Scope('admin') // the handler's own scope wins over its class's @Public()
    admin(@ApiKey() key: AuthenticatedKey) {
      return { scope: key.scope };
    }
  }

  it('a @Scope handler in a @Public() controller still needs a key', async () => {
    const http = await start([OrkestaAuthModule.forRoot({ store, ...local })], {
      controllers: [PublicClassController],
    });
    expect((await http.get('/open-class')).status).toBe(200);
    expect((await http.get('/open-class/admin')).status).toBe(401);
    expect(
      (await http.get('/open-class/admin').set('Authorization', `Bearer ${keys.readOnly}`)).status,
    ).toBe(403);
    expect(
      (await http.get('/open-class/admin').set('Authorization', `Bearer ${keys.admin}`)).body,
    ).toEqual({
      scope: 'admin',
    });
  });

  it('one inherited handler follows the @Scope and @Public of each controller it serves', async () => {
    // The guard reads a route's metadata once per handler and class: the same handler function
    // under two classes must still get each class's own answer, whichever is asked first.
    class Reports {
      @Get()
      list(@ApiKey() key: AuthenticatedKey | undefined) {
        return { keyId: key?.keyId ?? null };
      }
    }
    @Controller('open-reports')
    @Public()
    class OpenReports extends Reports {}
    @Controller('admin-reports')
    @Scope('admin')
    class AdminReports extends Reports {}
    const http = await start([OrkestaAuthModule.forRoot({ store, ...local })], {
      controllers: [OpenReports, AdminReports],
    });
    for (let round = 0; round < 2; round++) {
      const open = await http.get('/open-reports');
      expect(open.status).toBe(200);
      expect(open.body).toEqual({ keyId: null });
      const readOnly = await http
        .get('/admin-reports')
        .set('Authorization', `Bearer ${keys.readOnly}`);
      expect(readOnly.status).toBe(403);
      expect(readOnly.body.code).toBe('insufficient_scope');
      expect((await http.get('/admin-reports')).body.code).toBe('missing_api_key');
      const admin = await http.get('/admin-reports').set('Authorization', `Bearer ${keys.admin}`);
      expect(admin.status).toBe(200);
      expect(admin.body).toEqual({ keyId: keys.admin.split('_')[2] });
    }
  });

  it('a catch-all global filter built on BaseExceptionFilter sends the same status, headers and body', async () => {
    @Catch()
    class CatchAll extends BaseExceptionFilter {}
    @Module({
      imports: [OrkestaAuthModule.forRoot({ store, ...local })],
      controllers: [PaymentsController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    app.useGlobalFilters(new CatchAll(app.get(HttpAdapterHost).httpAdapter));
    await app.init();
    apps.push(app);
    const res = await request(app.getHttpServer())
      .get('/payments/create')
      .set('Authorization', `Bearer ${keys.readOnly}`);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="read-write"',
    );
    expect(res.body).toMatchObject({
      status: 403,
      code: 'insufficient_scope',
      detail: expect.any(String),
    });
  });

  it('honours the platform trust proxy: X-Forwarded-Proto counts only from a trusted proxy', async () => {
    @Module({ imports: [OrkestaAuthModule.forRoot({ store })], controllers: [PaymentsController] })
    class AppModule {}
    for (const [trust, status] of [
      [false, 403],
      [true, 200],
    ] as const) {
      const app = await NestFactory.create<NestExpressApplication>(AppModule, {
        logger: false,
        abortOnError: false,
      });
      if (trust) app.set('trust proxy', 'loopback');
      await app.init();
      apps.push(app);
      const res = await request(app.getHttpServer())
        .get('/payments')
        .set('Authorization', `Bearer ${keys.readOnly}`)
        .set('X-Forwarded-Proto', 'https');
      expect(res.status).toBe(status);
    }
  });

  it('works with the default global guard on Fastify too', async () => {
    @Module({ imports: [OrkestaAuthModule.forRoot({ store })], controllers: [PaymentsController] })
    class AppModule {}
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule,
      new FastifyAdapter({ trustProxy: '127.0.0.1' }),
      {
        logger: false,
        abortOnError: false,
      },
    );
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    const base = (await app.getUrl())
      .replace('[::1]', '127.0.0.1')
      .replace('localhost', '127.0.0.1');
    const get = (headers: Record<string, string>) => fetch(`${base}/payments`, { headers });
    const admitted = await get({
      Authorization: `Bearer ${keys.readOnly}`,
      'X-Forwarded-Proto': 'https',
    });
    expect(admitted.status).toBe(200);
    const refused = await get({ 'X-Forwarded-Proto': 'https' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { code: string }).code).toBe('missing_api_key');
    expect((await get({ Authorization: `Bearer ${keys.readOnly}` })).status).toBe(403);
  });

  it('closes the authenticator it built when the application shuts down: last-used times are written', async () => {
    const written: string[][] = [];
    const spied = new MemoryKeyStore();
    const { key, record } = await createKeyManager({ store: spied }).create({
      workspaceId: 'ws_1',
      name: 'n',
      scope: 'admin',
    });
    const recordLastUsed = spied.recordLastUsed.bind(spied);
    spied.recordLastUsed = async (batch) => {
      written.push([...batch.keys()]);
      await recordLastUsed(batch);
    };
    @Module({
      imports: [OrkestaAuthModule.forRoot({ store: spied, ...local })],
      controllers: [PaymentsController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.init();
    expect(
      (await request(app.getHttpServer()).get('/payments').set('Authorization', `Bearer ${key}`))
        .status,
    ).toBe(200);
    expect(written).toEqual([]);
    await app.close();
    expect(written).toEqual([[record.id]]);
  });

  it('globalGuard returned by an async factory is a configuration error', async () => {
    await expect(
      start([
        OrkestaAuthModule.forRootAsync({
          useFactory: () => ({ store, globalGuard: false }) as never,
        }),
      ]),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('extension points of OrkestaAuthGuard', () => {
  it('a subclass can change the request the core sees (toAuthRequest) and what is public (isPublic)', async () => {
    @Injectable()
    class AdminOnlyGuard extends OrkestaAuthGuard {
      protected override isPublic(): boolean {
        return false; // even @Public() routes need a key here
      }
      protected override toAuthRequest(
        ...args: Parameters<OrkestaAuthGuard['toAuthRequest']>
      ): ReturnType<OrkestaAuthGuard['toAuthRequest']> {
        const [request, workspaceId] = args;
        return super.toAuthRequest(request, workspaceId, 'admin');
      }
    }
    const http = await start([OrkestaAuthModule.forRoot({ store, ...local, globalGuard: false })], {
      providers: [{ provide: APP_GUARD, useClass: AdminOnlyGuard }],
    });
    expect((await http.get('/payments/health')).status).toBe(401);
    const readOnly = await http.get('/payments').set('Authorization', `Bearer ${keys.readOnly}`);
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers['www-authenticate']).toContain('scope="admin"');
    expect((await http.get('/payments').set('Authorization', `Bearer ${keys.admin}`)).status).toBe(
      200,
    );
  });
});

describe('OrkestaJwksModule', () => {
  const signing = createSigningKeys({
    issuer: 'https://keys.example.com',
    audience: 'https://api.example.com',
    keys: [{ kid: 'k1', privateKey: generateSigningKey({ kid: 'k1' }).privateKey }],
  });

  it('serves the JWKS on a public route past the global guard, on the path and max-age given', async () => {
    const http = await start([
      OrkestaAuthModule.forRoot({ store, ...local }),
      OrkestaJwksModule.forRoot({ jwks: signing, path: 'keys/jwks.json', maxAgeSeconds: 30 }),
    ]);
    const res = await http.get('/keys/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect(res.headers['cache-control']).toBe('public, max-age=30');
    expect(JSON.parse(res.text)).toEqual(signing.jwks());
    // The guard still guards everything else.
    expect((await http.get('/payments')).status).toBe(401);
  });

  it('serves it at .well-known/jwks.json by default, from a plain JWKS too', async () => {
    const http = await start([OrkestaJwksModule.forRoot({ jwks: signing.jwks() })], {
      controllers: [],
    });
    const res = await http.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual(signing.jwks());
  });

  it('refuses bad options at startup', () => {
    const { privateKey } = generateSigningKey({ kid: 'p' });
    expect(() => OrkestaJwksModule.forRoot(undefined as never)).toThrow(ConfigurationError);
    expect(() => OrkestaJwksModule.forRoot({ jwks: signing, path: '' })).toThrow(
      ConfigurationError,
    );
    expect(() => OrkestaJwksModule.forRoot({ jwks: { keys: [privateKey as never] } })).toThrow(
      ConfigurationError,
    );
  });
});

describe('OrkestaAuthGuard.canActivate', () => {
  it('answers at once for a cached key and for a refusal before any lookup; a promise only while a key is looked up', async () => {
    const fresh = await issue('read-only');
    const authenticator = new Authenticator({ store, ...local });
    const guard = new OrkestaAuthGuard(new Reflector(), authenticator);
    const headers: Record<string, string> = {};
    const context = (authorization?: string) => {
      const rawHeaders = authorization === undefined ? [] : ['Authorization', authorization];
      const req = { rawHeaders, secure: false, path: '/payments' } as { auth?: AuthenticatedKey };
      const res = { header: (name: string, value: string) => (headers[name] = value) };
      const host = new ExecutionContextHost(
        [req, res],
        PaymentsController,
        PaymentsController.prototype.list,
      );
      host.setType('http');
      return { host, req };
    };

    const first = context(`Bearer ${fresh}`);
    const looking = guard.canActivate(first.host);
    expect(looking).toBeInstanceOf(Promise);
    await expect(looking).resolves.toBe(true);
    expect(first.req.auth?.keyId).toBe(fresh.split('_')[2]);

    const cached = context(`Bearer ${fresh}`);
    expect(guard.canActivate(cached.host)).toBe(true);
    expect(cached.req.auth?.keyId).toBe(fresh.split('_')[2]);

    let refusal: unknown;
    try {
      guard.canActivate(context().host); // throws synchronously: no promise to wait for
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OrkestaAuthException);
    expect((refusal as OrkestaAuthException).error.code).toBe('missing_api_key');
    expect(headers['WWW-Authenticate']).toBe('Bearer realm="api"');
    await authenticator.close();
  });
});

describe('decorators and exports', () => {
  it('exports the scope names as the type ScopeName', () => {
    expectTypeOf<ScopeName>().toEqualTypeOf<'read-only' | 'read-write' | 'admin'>();
  });

  it('an unknown scope is a ConfigurationError where it is declared', () => {
    expect(() => Scope('owner' as never)).toThrow(ConfigurationError);
  });

  it("ours is RequireScope as well as Scope; Nest's Scope stays its own", () => {
    expect(RequireScope).toBe(Scope);
    expect(ProviderScope.REQUEST).toBeDefined();
  });

  it('the Authenticator is injectable, for invalidate() or close()', async () => {
    @Injectable()
    class UsesAuthenticator {
      constructor(@Inject(Authenticator) readonly authenticator: Authenticator) {}
    }
    @Module({ providers: [UsesAuthenticator] })
    class Consumer {}
    const app = await NestFactory.createApplicationContext(
      {
        module: class Root {},
        imports: [OrkestaAuthModule.forRoot({ store }), Consumer],
      } as never,
      { logger: false, abortOnError: false },
    );
    apps.push(app as unknown as INestApplication);
    expect(app.get(UsesAuthenticator).authenticator).toBeInstanceOf(Authenticator);
  });

  it('loads from a CommonJS file with require()', () => {
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      OrkestaAuthModule: 'function',
      Scope: 'function',
      RequireScope: true,
    });
  });
});
