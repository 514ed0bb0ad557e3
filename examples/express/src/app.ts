import type { Authenticator, KeyManager } from '@orkesta/auth-express';
import { orkestaAuth, requireScope } from '@orkesta/auth-express';
import type { PaymentsData } from '@orkesta/example-shared';
import {
  notFound,
  OPENAPI_PATH,
  PaymentsApi,
  paymentsOpenApiDocument,
  problemFor,
} from '@orkesta/example-shared';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import express from 'express';

export interface PaymentsAppOptions {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data?: PaymentsData;
}

/**
 * The demo: an Orkesta-like payments API on Express. read-only keys read accounts, payments
 * and reports; read-write keys also create payments and webhooks; admin keys also read the
 * workspace settings and manage the workspace's API keys. Every route acts on the caller's own
 * workspace. What each route does is `PaymentsApi`'s (shared with the Koa and Nest examples);
 * this file only routes.
 */
export function createPaymentsApp(options: PaymentsAppOptions): express.Express {
  const { authenticator } = options;
  const api = new PaymentsApi(options);
  const app = express();
  app.disable('x-powered-by');

  // Public: before the authentication middleware.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const openApi = paymentsOpenApiDocument();
  app.get(OPENAPI_PATH, (_req, res) => {
    res.json(openApi);
  });

  app.use(orkestaAuth({ authenticator }));
  app.use(express.json({ limit: '16kb' }));

  const readOnly = requireScope('read-only');
  const readWrite = requireScope('read-write');
  const admin = requireScope('admin');

  app.get(
    '/v1/accounts',
    readOnly,
    reply(200, (req) => api.accounts(workspaceOf(req))),
  );
  app.get(
    '/v1/payments',
    readOnly,
    reply(200, (req) => api.payments(workspaceOf(req))),
  );
  app.get(
    '/v1/reports',
    readOnly,
    reply(200, (req) => api.reports(workspaceOf(req))),
  );
  app.post(
    '/v1/payments',
    readWrite,
    reply(201, (req) => api.createPayment(workspaceOf(req), req.body)),
  );
  app.post(
    '/v1/webhooks',
    readWrite,
    reply(201, (req) => api.createWebhook(workspaceOf(req), req.body)),
  );
  app.get(
    '/v1/workspace/settings',
    admin,
    reply(200, (req) => api.settings(workspaceOf(req))),
  );
  app.get(
    '/v1/api-keys',
    admin,
    reply(200, (req) => api.listKeys(workspaceOf(req), req.query)),
  );
  app.post(
    '/v1/api-keys',
    admin,
    reply(201, (req) => api.createKey(workspaceOf(req), req.body)),
  );
  app.delete(
    '/v1/api-keys/:id',
    admin,
    reply(200, (req) => api.revokeKey(workspaceOf(req), String(req.params.id))),
  );
  app.post(
    '/v1/api-keys/:id/rotate',
    admin,
    reply(201, (req) => api.rotateKey(workspaceOf(req), String(req.params.id), req.body)),
  );

  app.use((_req, res) => {
    send(res, notFound());
  });
  const errors: ErrorRequestHandler = (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    send(res, problemFor(err));
  };
  app.use(errors);
  return app;
}

/** A route answering `status` with what `handle` returns; what it throws goes to `errors`. */
function reply(status: 200 | 201, handle: (req: Request) => unknown): RequestHandler {
  return async (req, res) => {
    res.status(status).json(await handle(req));
  };
}

function send(res: Response, problem: ReturnType<typeof problemFor>): void {
  res.status(problem.status).set(problem.headers).send(JSON.stringify(problem.body));
}

/** orkestaAuth ran before every route that calls this, so the key is there. */
function workspaceOf(req: Request): string {
  const key = req.auth;
  if (key === undefined) throw new Error('route reached without authentication');
  return key.workspaceId;
}
