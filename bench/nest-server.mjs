// The NestJS 12 app of the HTTP benchmark (a controller answering GET /v1/accounts), on the
// Fastify or the Express platform, in one of these modes:
//
//   node bench/nest-server.mjs fastify-bare   Nest on Fastify, the controller alone
//   node bench/nest-server.mjs fastify-noop   the same with a global guard that admits everything
//                                             (the price of any guard at all)
//   node bench/nest-server.mjs fastify-auth   the same with OrkestaAuthModule.forRoot({ store })
//                                             (its global guard) and @Scope('read-only') on the route
//   node bench/nest-server.mjs express-bare   Nest on Express, the controller alone
//   node bench/nest-server.mjs express-auth   the same with the module and @Scope('read-only')
//
// Plain JavaScript has no decorator syntax on Node 20, so the decorators are applied with
// Reflect.decorate, which is what TypeScript compiles `@Get()` and friends to.
// See server-common.mjs for the key, the port line and the CPU questions over IPC.

import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { OrkestaAuthModule, Scope } from '@orkesta/auth-nest';
import { ACCOUNTS, benchKey, benchStore, modeFromArgv, serve } from './server-common.mjs';

export const MODES = [
  'fastify-bare',
  'fastify-noop',
  'fastify-auth',
  'express-bare',
  'express-auth',
];

const mode = modeFromArgv(MODES, 'nest-server.mjs');
const [platform, variant] = mode.split('-');
const key = variant === 'auth' ? benchKey() : undefined;

class AccountsController {
  list() {
    return ACCOUNTS;
  }
}
const list = Object.getOwnPropertyDescriptor(AccountsController.prototype, 'list');
Reflect.decorate(
  key === undefined ? [Get('accounts')] : [Get('accounts'), Scope('read-only')],
  AccountsController.prototype,
  'list',
  list,
);
Reflect.decorate([Controller('v1')], AccountsController);

/** A guard that admits every request, synchronously: the shape of ours, doing nothing. */
class NoopGuard {
  canActivate() {
    return true;
  }
}
Reflect.decorate([Injectable()], NoopGuard);

class AppModule {}
Reflect.decorate(
  [
    Module({
      imports:
        key === undefined
          ? []
          : [OrkestaAuthModule.forRoot({ store: await benchStore(key), requireHttps: false })],
      controllers: [AccountsController],
      providers: variant === 'noop' ? [{ provide: APP_GUARD, useClass: NoopGuard }] : [],
    }),
  ],
  AppModule,
);

const app = await NestFactory.create(
  AppModule,
  platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
  { logger: false, abortOnError: false },
);
await app.listen(0, '127.0.0.1');
await serve(app.getHttpServer(), { mode, key: key?.token });
