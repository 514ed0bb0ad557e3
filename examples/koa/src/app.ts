import { bodyParser } from '@koa/bodyparser';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import Router from '@koa/router';
import type { Authenticator, KeyManager } from '@orkesta/auth-koa';
import { orkestaAuth, requireScope } from '@orkesta/auth-koa';
import type { PaymentsData } from '@orkesta/example-shared';
import {
  notFound,
  OPENAPI_PATH,
  PaymentsApi,
  paymentsOpenApiDocument,
  problemFor,
} from '@orkesta/example-shared';
import type { Context } from 'koa';
import Koa from 'koa';

export interface PaymentsAppOptions {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data?: PaymentsData;
}

/**
 * The payments API on Koa, with `@koa/router`: the same routes and scopes as the Express demo.
 * What each route does is `PaymentsApi`'s (shared with the Express and Nest examples); this
 * file only routes.
 */
export function createPaymentsApp(options: PaymentsAppOptions): Koa {
  const { authenticator } = options;
  const api = new PaymentsApi(options);
  const app = new Koa();

  // Outermost: what a route throws becomes a problem+json answer. Authentication failures are
  // answered by orkestaAuth itself and never get here.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      write(ctx, problemFor(error));
    }
  });

  // Public: before the authentication middleware.
  const open = new Router();
  open.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  const openApi = paymentsOpenApiDocument();
  open.get(OPENAPI_PATH, (ctx) => {
    ctx.body = openApi;
  });
  app.use(open.routes());

  app.use(orkestaAuth({ authenticator }));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' }));

  const readOnly = requireScope('read-only');
  const readWrite = requireScope('read-write');
  const admin = requireScope('admin');
  const router = new Router({ prefix: '/v1' });
  router
    .get(
      '/accounts',
      readOnly,
      reply(200, (ctx) => api.accounts(workspaceOf(ctx))),
    )
    .get(
      '/payments',
      readOnly,
      reply(200, (ctx) => api.payments(workspaceOf(ctx))),
    )
    .get(
      '/reports',
      readOnly,
      reply(200, (ctx) => api.reports(workspaceOf(ctx))),
    )
    .post(
      '/payments',
      readWrite,
      reply(201, (ctx) => api.createPayment(workspaceOf(ctx), ctx.request.body)),
    )
    .post(
      '/webhooks',
      readWrite,
      reply(201, (ctx) => api.createWebhook(workspaceOf(ctx), ctx.request.body)),
    )
    .get(
      '/workspace/settings',
      admin,
      reply(200, (ctx) => api.settings(workspaceOf(ctx))),
    )
    .get(
      '/api-keys',
      admin,
      reply(200, (ctx) => api.listKeys(workspaceOf(ctx), ctx.query)),
    )
    .post(
      '/api-keys',
      admin,
      reply(201, (ctx) => api.createKey(workspaceOf(ctx), ctx.request.body)),
    )
    .delete(
      '/api-keys/:id',
      admin,
      reply(200, (ctx) => api.revokeKey(workspaceOf(ctx), ctx.params.id!)),
    )
    .post(
      '/api-keys/:id/rotate',
      admin,
      reply(201, (ctx) => api.rotateKey(workspaceOf(ctx), ctx.params.id!, ctx.request.body)),
    );
  app.use(router.routes());

  app.use((ctx) => {
    write(ctx, notFound());
  });
  return app;
}

/** A route answering `status` with what `handle` returns. */
function reply(status: 200 | 201, handle: (ctx: RouterContext) => unknown): RouterMiddleware {
  return async (ctx) => {
    ctx.body = await handle(ctx);
    ctx.status = status;
  };
}

function write(ctx: Context, problem: ReturnType<typeof problemFor>): void {
  ctx.status = problem.status;
  ctx.set(problem.headers);
  // A string body keeps the Content-Type set above.
  ctx.body = JSON.stringify(problem.body);
}

/** orkestaAuth ran before every route that calls this, so the key is there. */
function workspaceOf(ctx: Pick<Context, 'state'>): string {
  const key = ctx.state.auth;
  if (key === undefined) throw new Error('route reached without authentication');
  return key.workspaceId;
}
