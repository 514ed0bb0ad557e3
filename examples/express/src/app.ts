import type { ApiKeyInfo, Authenticator, KeyManager } from '@orkesta/auth-express';
import {
  isScope,
  KeyManagementError,
  orkestaAuth,
  renderProblem,
  requireScope,
} from '@orkesta/auth-express';
import type { ErrorRequestHandler, Request, Response } from 'express';
import express from 'express';
import { PaymentsData } from './data.js';

export interface PaymentsAppOptions {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data?: PaymentsData;
}

/** A request whose body is wrong: answered 400 with a problem+json body like every failure. */
class BadRequest extends Error {
  readonly code = 'invalid_request';
  readonly status = 400;
  readonly title = 'Invalid request';
}

/**
 * The demo: an Orkesta-like payments API. read-only keys read accounts, payments and reports;
 * read-write keys also create payments and webhooks; admin keys also read the workspace settings
 * and manage the workspace's API keys. Every route acts on the caller's own workspace.
 */
export function createPaymentsApp(options: PaymentsAppOptions): express.Express {
  const { authenticator, keys } = options;
  const data = options.data ?? new PaymentsData();
  const app = express();
  app.disable('x-powered-by');

  // Public: before the authentication middleware.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use(orkestaAuth({ authenticator }));
  app.use(express.json({ limit: '16kb' }));

  const readOnly = requireScope('read-only');
  const readWrite = requireScope('read-write');
  const admin = requireScope('admin');

  app.get('/v1/accounts', readOnly, (req, res) => {
    res.json({ data: data.workspace(workspaceOf(req)).accounts });
  });

  app.get('/v1/payments', readOnly, (req, res) => {
    res.json({ data: data.workspace(workspaceOf(req)).payments });
  });

  app.get('/v1/reports', readOnly, (req, res) => {
    res.json({ data: data.report(workspaceOf(req)) });
  });

  app.post('/v1/payments', readWrite, (req, res) => {
    const body = objectBody(req);
    const amount = body.amount;
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) {
      throw new BadRequest('amount must be a positive number');
    }
    const accountId = text(body.accountId, 'accountId');
    const description = body.description === undefined ? '' : text(body.description, 'description');
    const payment = data.createPayment(workspaceOf(req), { accountId, amount, description });
    if (payment === undefined) throw new BadRequest(`no account ${accountId} in this workspace`);
    res.status(201).json(payment);
  });

  app.post('/v1/webhooks', readWrite, (req, res) => {
    const body = objectBody(req);
    const url = text(body.url, 'url');
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new BadRequest('url must be an http(s) URL');
    }
    const events = body.events ?? ['payment.created'];
    if (!Array.isArray(events) || !events.every((e) => typeof e === 'string' && e.length > 0)) {
      throw new BadRequest('events must be a list of event names');
    }
    res.status(201).json(data.createWebhook(workspaceOf(req), { url, events }));
  });

  app.get('/v1/workspace/settings', admin, (req, res) => {
    res.json(data.workspace(workspaceOf(req)).settings);
  });

  app.get('/v1/api-keys', admin, async (req, res) => {
    const status = req.query.status;
    const cursor = req.query.cursor;
    const page = await keys.list({
      workspaceId: workspaceOf(req),
      status:
        status === 'active' || status === 'revoked' || status === 'expired' ? status : undefined,
      cursor: typeof cursor === 'string' ? cursor : undefined,
    });
    res.json({ data: page.items.map(keyView), nextCursor: page.nextCursor ?? null });
  });

  app.post('/v1/api-keys', admin, async (req, res) => {
    const body = objectBody(req);
    if (!isScope(body.scope)) throw new BadRequest('scope must be read-only, read-write or admin');
    const issued = await keys.create({
      workspaceId: workspaceOf(req),
      name: text(body.name, 'name'),
      scope: body.scope,
      expiresAt: body.expiresAt === undefined ? undefined : text(body.expiresAt, 'expiresAt'),
    });
    // The plaintext is in this one response and nowhere else.
    res.status(201).json({ ...keyView(issued.record), key: issued.key });
  });

  app.delete('/v1/api-keys/:id', admin, async (req, res) => {
    res.json(keyView(await keys.revoke(String(req.params.id), { workspaceId: workspaceOf(req) })));
  });

  app.post('/v1/api-keys/:id/rotate', admin, async (req, res) => {
    const body = req.body === undefined ? {} : objectBody(req);
    const overlapSeconds = body.overlapSeconds ?? 0;
    if (
      typeof overlapSeconds !== 'number' ||
      !Number.isSafeInteger(overlapSeconds) ||
      overlapSeconds < 0
    ) {
      throw new BadRequest('overlapSeconds must be a non-negative integer');
    }
    const rotated = await keys.rotate(String(req.params.id), {
      workspaceId: workspaceOf(req),
      overlapMs: overlapSeconds * 1000,
    });
    res.status(201).json({
      ...keyView(rotated.issued.record),
      key: rotated.issued.key,
      previous: keyView(rotated.previous),
    });
  });

  app.use((_req, res) => {
    send(res, 404, { code: 'not_found', title: 'Not found', message: 'No such route.' });
  });

  const errors: ErrorRequestHandler = (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof KeyManagementError || err instanceof BadRequest) {
      return send(res, err.status, err);
    }
    // express.json() errors (bad JSON, too large) carry a 4xx status of their own.
    const status =
      typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    send(res, status, {
      code: status === 500 ? 'internal_error' : 'invalid_request',
      title: status === 500 ? 'Internal error' : 'Invalid request',
      message: status === 500 ? 'Something went wrong.' : 'The request body could not be read.',
    });
  };
  app.use(errors);
  return app;
}

function send(
  res: Response,
  status: number,
  problem: { code: string; title: string; message: string },
): void {
  // Named fields: an Error's `message` is not enumerable, so spreading one would lose it.
  const { code, title, message } = problem;
  const rendered = renderProblem({ code, title, message, status });
  res.status(rendered.status).set(rendered.headers).send(JSON.stringify(rendered.body));
}

/** orkestaAuth ran before every route that calls this, so the key is there. */
function workspaceOf(req: Request): string {
  const key = req.auth;
  if (key === undefined) throw new Error('route reached without authentication');
  return key.workspaceId;
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest('send a JSON object body with Content-Type: application/json');
  }
  return body as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 500) {
    throw new BadRequest(`${field} must be a non-empty string`);
  }
  return value;
}

/** What the API shows of a key: never the hash, never the plaintext (except once, on creation). */
function keyView(info: ApiKeyInfo) {
  return {
    id: info.id,
    name: info.name,
    workspaceId: info.workspaceId,
    scope: info.scope,
    environment: info.environment,
    status: info.status,
    createdAt: info.createdAt.toISOString(),
    expiresAt: info.expiresAt?.toISOString() ?? null,
    revokedAt: info.revokedAt?.toISOString() ?? null,
    lastUsedAt: info.lastUsedAt?.toISOString() ?? null,
    rotatedFromId: info.rotatedFromId,
  };
}

export { PaymentsData };
