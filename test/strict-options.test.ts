import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { KeyStore } from '@orkesta/auth';
import {
  addApiKeyAuth,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  createLocalChangeFeed,
  createSigningKeys,
  generateSigningKey,
  jwksResponse,
  KeyManagementError,
  MemoryKeyStore,
  MemoryRateLimiter,
} from '@orkesta/auth';
import { ErrorRenderer } from '@orkesta/auth/adapter';
import { describeKeyStore } from '@orkesta/auth/testing';
import * as express from '@orkesta/auth-express';
import * as koa from '@orkesta/auth-koa';
import { OrkestaAuthModule, OrkestaJwksModule, openApiAccess } from '@orkesta/auth-nest';
import { createTelemetryHooks } from '@orkesta/auth-opentelemetry';
import { createRedisChangeFeed, RedisRateLimiter } from '@orkesta/auth-redis';
import { migrate, PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { SqliteKeyStore } from '@orkesta/auth-store-sqlite';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Every options object the project accepts refuses an unknown key where it is created, with a
 * `ConfigurationError` naming the key (`option`) and the known one it most likely meant
 * (`suggestion`): a typo must never turn a check off. One row per options object, nested ones
 * included; each row passes alone. The CLI package's two (`openKeyStore`, `parseStoreSpec`) are
 * tried in its own tests (packages/cli/test/open-store.test.ts, store-spec.test.ts).
 */

const store = new MemoryKeyStore();
const signing = createSigningKeys({
  issuer: 'https://keys.strict.test',
  audience: 'https://api.strict.test',
  keys: [{ kid: 'strict', privateKey: generateSigningKey({ kid: 'strict' }).privateKey }],
});
const jwks = signing.jwks();
const policy = { limit: 10, windowSeconds: 60 };
const signedKeys = { issuer: signing.issuer, audience: signing.audience, jwks };
const authenticator = createAuthenticator({ store });
// Never connects: an options object is checked before any connection is made.
const redis = new Redis({ lazyConnect: true });
afterAll(() => redis.disconnect());
const pgUrl = 'postgres://127.0.0.1:5432/test';

/** Options with a key no options object knows, typed loosely: a typo is what is being tried. */
// biome-ignore lint/suspicious/noExplicitAny: a misspelt option has no type by definition.
type Loose = any;

const CASES: readonly [
  where: string,
  create: () => unknown,
  option: string,
  suggestion?: string,
][] = [
  // createAuthenticator, and the objects nested in it
  [
    'authenticator: requireHTTPS',
    () => createAuthenticator({ store, requireHTTPS: false } as Loose),
    'requireHTTPS',
    'requireHttps',
  ],
  [
    'authenticator: a key no option is close to',
    () => createAuthenticator({ store, workspce: () => 'ws' } as Loose),
    'workspce',
  ],
  [
    'cache',
    () => createAuthenticator({ store, cache: { ttl: 5 } as Loose }),
    'cache.ttl',
    'cache.ttlMs',
  ],
  [
    'lastUsed',
    () => createAuthenticator({ store, lastUsed: { interval: 5 } as Loose }),
    'lastUsed.interval',
    'lastUsed.intervalMs',
  ],
  [
    'rateLimit',
    () => createAuthenticator({ store, rateLimit: { scope: {} } as Loose }),
    'rateLimit.scope',
    'rateLimit.scopes',
  ],
  [
    'rateLimit.scopes',
    () => createAuthenticator({ store, rateLimit: { scopes: { 'read-onyl': policy } as Loose } }),
    'rateLimit.scopes.read-onyl',
    'rateLimit.scopes.read-only',
  ],
  [
    "rateLimit.scopes['admin']",
    () =>
      createAuthenticator({
        store,
        rateLimit: { scopes: { admin: { limit: 1, window: 60 } as Loose } },
      }),
    "rateLimit.scopes['admin'].window",
    "rateLimit.scopes['admin'].windowSeconds",
  ],
  [
    'failedAttempts',
    () => createAuthenticator({ store, failedAttempts: { limt: 5 } as Loose }),
    'failedAttempts.limt',
    'failedAttempts.limit',
  ],
  [
    'hashing',
    () => createAuthenticator({ store, hashing: { peper: {} } as Loose }),
    'hashing.peper',
    'hashing.pepper',
  ],
  [
    'hashing.pepper',
    () =>
      createAuthenticator({
        store,
        hashing: { pepper: { id: 'p1', secrt: 'x'.repeat(16) } as Loose },
      }),
    'hashing.pepper.secrt',
    'hashing.pepper.secret',
  ],
  [
    'hashing.previousPeppers[i]',
    () =>
      createAuthenticator({
        store,
        hashing: { previousPeppers: [{ id: 'p0', secret: 'x'.repeat(16), sceret: 1 }] } as Loose,
      }),
    'hashing.previousPeppers[0].sceret',
    'hashing.previousPeppers[0].secret',
  ],
  [
    'signedKeys',
    () =>
      createAuthenticator({ store, signedKeys: { ...signedKeys, algorithm: ['EdDSA'] } as Loose }),
    'signedKeys.algorithm',
    'signedKeys.algorithms',
  ],
  [
    'signedKeys.jwks (remote)',
    () =>
      createAuthenticator({
        store,
        signedKeys: {
          ...signedKeys,
          jwks: { url: 'https://keys.strict.test/jwks', cooldown: 5 } as Loose,
        },
      }),
    'signedKeys.jwks.cooldown',
    'signedKeys.jwks.cooldownMs',
  ],
  [
    'hooks',
    () => createAuthenticator({ store, hooks: { onAuthenticate() {} } as Loose }),
    'hooks.onAuthenticate',
    'hooks.onAuthenticated',
  ],
  // key management and signing
  [
    'createKeyManager',
    () => createKeyManager({ store, enviroment: 'test' } as Loose),
    'enviroment',
    'environment',
  ],
  [
    'createSigningKeys',
    () => createSigningKeys({ issuer: 'i', audience: 'a', key: [] } as Loose),
    'signing.key',
    'signing.keys',
  ],
  [
    'a signing key',
    () =>
      createSigningKeys({
        issuer: 'i',
        audience: 'a',
        keys: [{ kid: 'k', privatekey: {} }],
      } as Loose),
    'keys[0].privatekey',
    'keys[0].privateKey',
  ],
  [
    'generateSigningKey',
    () => generateSigningKey({ algoritm: 'ES256' } as Loose),
    'algoritm',
    'algorithm',
  ],
  ['jwksResponse', () => jwksResponse(jwks, { maxAge: 60 } as Loose), 'maxAge', 'maxAgeSeconds'],
  ['ErrorRenderer', () => new ErrorRenderer({ relm: 'api' } as Loose), 'relm', 'realm'],
  [
    'openApiAccess',
    () => openApiAccess({} as never, { operationIdFactry: () => '' } as Loose),
    'operationIdFactry',
    'operationIdFactory',
  ],
  [
    'addApiKeyAuth',
    () => addApiKeyAuth({ openapi: '3.1.0', paths: {} }, { defaultAcess: 'key' } as Loose),
    'defaultAcess',
    'defaultAccess',
  ],
  [
    'MemoryRateLimiter',
    () => new MemoryRateLimiter({ maxBucket: 5 } as Loose),
    'maxBucket',
    'maxBuckets',
  ],
  [
    'createLocalChangeFeed',
    () => createLocalChangeFeed({ onErorr() {} } as Loose),
    'onErorr',
    'onError',
  ],
  [
    'describeKeyStore',
    () => describeKeyStore('strict', { create: () => store, reopn: () => store } as Loose),
    'reopn',
    'reopen',
  ],
  // Express
  [
    'Express orkestaAuth',
    () => express.orkestaAuth({ store, workspce: () => 'ws' } as Loose),
    'workspce',
    'workspace',
  ],
  [
    'Express orkestaAuth: onFailur',
    () => express.orkestaAuth({ store, onFailur: 'next' } as Loose),
    'onFailur',
    'onFailure',
  ],
  [
    'Express orkestaAuth with an authenticator',
    () => express.orkestaAuth({ authenticator, workspce: () => 'ws' } as Loose),
    'workspce',
    'workspace',
  ],
  [
    'Express serveJwks',
    () => express.serveJwks(jwks, { maxAge: 5 } as Loose),
    'maxAge',
    'maxAgeSeconds',
  ],
  // Koa
  [
    'Koa orkestaAuth',
    () => koa.orkestaAuth({ store, onFailur: 'throw' } as Loose),
    'onFailur',
    'onFailure',
  ],
  [
    'Koa orkestaAuth: a nested option',
    () => koa.orkestaAuth({ store, cache: { negativeTtl: 1 } } as Loose),
    'cache.negativeTtl',
    'cache.negativeTtlMs',
  ],
  ['Koa serveJwks', () => koa.serveJwks(jwks, { pth: '/jwks' } as Loose), 'pth', 'path'],
  // Nest
  [
    'Nest forRoot',
    () => OrkestaAuthModule.forRoot({ store, globalGaurd: false } as Loose),
    'globalGaurd',
    'globalGuard',
  ],
  [
    'Nest forRoot: an authenticator option',
    () => OrkestaAuthModule.forRoot({ store, requireHTTPS: false } as Loose),
    'requireHTTPS',
    'requireHttps',
  ],
  [
    'Nest forRootAsync',
    () => OrkestaAuthModule.forRootAsync({ useFactry: () => ({ store }) } as Loose),
    'useFactry',
    'useFactory',
  ],
  [
    'Nest OrkestaJwksModule',
    () => OrkestaJwksModule.forRoot({ jwks, pth: 'jwks' } as Loose),
    'pth',
    'path',
  ],
  // OpenTelemetry
  [
    'createTelemetryHooks',
    () => createTelemetryHooks({ spanAttribute: false } as Loose),
    'spanAttribute',
    'spanAttributes',
  ],
  // stores, feeds and limiters of the other packages
  [
    'SqliteKeyStore',
    () => new SqliteKeyStore({ filename: ':memory:', pollInterval: 100 } as Loose),
    'pollInterval',
    'pollIntervalMs',
  ],
  [
    'PostgresKeyStore',
    () => new PostgresKeyStore({ connectionString: pgUrl, migrat: true } as Loose),
    'migrat',
    'migrate',
  ],
  [
    'PostgresKeyStore reconnectDelayMs',
    () =>
      new PostgresKeyStore({
        connectionString: pgUrl,
        reconnectDelayMs: { min: 1, maxi: 5 },
      } as Loose),
    'reconnectDelayMs.maxi',
    'reconnectDelayMs.max',
  ],
  [
    'createRedisChangeFeed',
    () => createRedisChangeFeed({ redis, chanel: 'x' } as Loose),
    'chanel',
    'channel',
  ],
  [
    'RedisRateLimiter',
    () => new RedisRateLimiter({ redis, prefx: 'x:' } as Loose),
    'prefx',
    'prefix',
  ],
];

describe('strict options: a misspelt key throws where the options are given', () => {
  it.each(CASES)('%s', (_where, create, option, suggestion) => {
    let thrown: unknown;
    try {
      create();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ code: 'ERR_ORKESTA_AUTH_CONFIG', option, suggestion });
  });

  it('Nest forRootAsync: the options its factory makes are checked when the module starts', async () => {
    @Module({
      imports: [
        OrkestaAuthModule.forRootAsync({
          useFactory: () => ({ store, requireHTTPS: false }) as Loose,
          globalGuard: false,
        }),
      ],
    })
    class AppModule {}
    const started = NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    await expect(started).rejects.toMatchObject({
      code: 'ERR_ORKESTA_AUTH_CONFIG',
      option: 'requireHTTPS',
      suggestion: 'requireHttps',
    });
  });

  it('a middleware refusing its own options has not subscribed to the change feed', () => {
    // A Redis feed opens a connection when subscribed: a refusal after that would leave it open.
    let subscribed = 0;
    const changeFeed = {
      subscribe: () => {
        subscribed++;
        return () => {};
      },
      publish: async () => {},
    };
    const attempts = [
      () => express.orkestaAuth({ store, changeFeed, workspace: 'ws_1' } as Loose),
      () => express.orkestaAuth({ store, changeFeed, onFailure: 'throw' } as Loose),
      () => koa.orkestaAuth({ store, changeFeed, workspace: 'ws_1' } as Loose),
      () => koa.orkestaAuth({ store, changeFeed, onFailure: 'next' } as Loose),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(ConfigurationError);
    }
    expect(subscribed).toBe(0);
    // The feed is the kind the middleware subscribes to when its options are right.
    express.orkestaAuth({ store, changeFeed });
    expect(subscribed).toBe(1);
  });

  it('PostgreSQL migrate({ … }) rejects a misspelt option before it connects', async () => {
    await expect(migrate({ connectionString: pgUrl, schem: 'x' } as Loose)).rejects.toMatchObject({
      code: 'ERR_ORKESTA_AUTH_CONFIG',
      option: 'schem',
      suggestion: 'schema',
    });
  });

  it('a key manager call with a field it does not know is refused as invalid_key_parameters', async () => {
    const manager = createKeyManager({ store: store as KeyStore });
    const refusals = await Promise.all(
      [
        () => manager.create({ workspaceId: 'ws', name: 'n', scope: 'admin', expires: 1 } as Loose),
        () => manager.list({ workspace: 'ws' } as Loose),
        () => manager.rotate('AAAAAAAAAAAA', { overlap: 1_000 } as Loose),
        () => manager.revoke('AAAAAAAAAAAA', { workspace: 'ws' } as Loose),
      ].map((call) =>
        call().then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    for (const error of refusals) {
      expect(error).toBeInstanceOf(KeyManagementError);
      expect(error).toMatchObject({ code: 'invalid_key_parameters' });
    }
  });
});
