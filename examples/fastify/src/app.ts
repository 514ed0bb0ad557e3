import type { Authenticator, KeyManager, Scope } from '@orkesta/auth-fastify';
import { orkestaAuth } from '@orkesta/auth-fastify';
import type { PaymentsData } from '@orkesta/example-shared';
import {
  notFound,
  OPENAPI_PATH,
  PaymentsApi,
  paymentsOpenApiDocument,
  problemFor,
} from '@orkesta/example-shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Fastify from 'fastify';

export interface PaymentsAppOptions {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data?: PaymentsData;
}

/**
 * The payments API on Fastify: the same routes and scopes as the Express demo, each route's
 * scope in its config. What each route does is `PaymentsApi`'s (shared with the Express, Koa
 * and Nest examples); this file only routes. Not listening yet: `app.listen()` is the caller's.
 */
export async function createPaymentsApp(options: PaymentsAppOptions): Promise<FastifyInstance> {
  const { authenticator } = options;
  const api = new PaymentsApi(options);
  const app = Fastify({
    // JSON bodies up to 16 kB, as the other demos read them; a larger one is 413.
    bodyLimit: 16 * 1024,
    // A URL the router cannot read (`/v1/%zz`, a parameter too long) is answered before any
    // hook: by default with the URL, and so any key in it, in the body. Ours says less.
    frameworkErrors: (error, _request, reply) => send(reply, problemFor(error)),
  });

  // What a route throws becomes a problem+json answer; authentication failures are answered by
  // the plugin itself and never get here.
  app.setErrorHandler((error, _request, reply) => send(reply, problemFor(error)));
  // Ours, not Fastify's default, which logs the URL and puts it in the body. Behind the plugin,
  // like every route: an unknown path without a key is 401, as in the other demos.
  app.setNotFoundHandler((_request, reply) => send(reply, notFound()));

  // At the root: it covers every route and plugin of the app, and the 404.
  await app.register(orkestaAuth, { authenticator });
  app.get('/health', { config: { orkesta: { public: true } } }, () => ({ status: 'ok' }));
  const openApi = paymentsOpenApiDocument();
  app.get(OPENAPI_PATH, { config: { orkesta: { public: true } } }, () => openApi);

  await app.register(
    async (v1) => {
      const route = (scope: Scope) => ({ config: { orkesta: { scope } } });
      v1.get(
        '/accounts',
        route('read-only'),
        answer(200, (request) => api.accounts(workspaceOf(request))),
      );
      v1.get(
        '/payments',
        route('read-only'),
        answer(200, (request) => api.payments(workspaceOf(request))),
      );
      v1.get(
        '/reports',
        route('read-only'),
        answer(200, (request) => api.reports(workspaceOf(request))),
      );
      v1.post(
        '/payments',
        route('read-write'),
        answer(201, (request) => api.createPayment(workspaceOf(request), request.body)),
      );
      v1.post(
        '/webhooks',
        route('read-write'),
        answer(201, (request) => api.createWebhook(workspaceOf(request), request.body)),
      );
      v1.get(
        '/workspace/settings',
        route('admin'),
        answer(200, (request) => api.settings(workspaceOf(request))),
      );
      v1.get(
        '/api-keys',
        route('admin'),
        answer(200, (request) => api.listKeys(workspaceOf(request), request.query as never)),
      );
      v1.post(
        '/api-keys',
        route('admin'),
        answer(201, (request) => api.createKey(workspaceOf(request), request.body)),
      );
      v1.delete(
        '/api-keys/:id',
        route('admin'),
        answer(200, (request) => api.revokeKey(workspaceOf(request), idOf(request))),
      );
      v1.post(
        '/api-keys/:id/rotate',
        route('admin'),
        answer(201, (request) => api.rotateKey(workspaceOf(request), idOf(request), request.body)),
      );
    },
    { prefix: '/v1' },
  );
  return app;
}

/** A route answering `status` with what `handle` returns; what it throws goes to the error handler. */
function answer(status: 200 | 201, handle: (request: FastifyRequest) => unknown) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const body = await handle(request);
    reply.code(status);
    return body;
  };
}

function send(reply: FastifyReply, problem: ReturnType<typeof problemFor>): void {
  // A Buffer is sent as it is, under the problem+json type (a string would gain a charset).
  reply
    .code(problem.status)
    .headers(problem.headers)
    .send(Buffer.from(JSON.stringify(problem.body)));
}

function idOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

/** The plugin authenticated every route that calls this, so the key is there. */
function workspaceOf(request: FastifyRequest): string {
  const key = request.auth;
  if (key === undefined || key === null) throw new Error('route reached without authentication');
  return key.workspaceId;
}
