import type { ApiKeyInfo, KeyManager, KeyStatus, RenderedError } from '@orkesta/auth';
import { isScope, KeyManagementError, renderProblem } from '@orkesta/auth';
import type { Account, Payment, Webhook } from './data.js';
import { PaymentsData } from './data.js';

/** A request whose input is wrong: answered 400 with a problem+json body like every failure. */
export class InvalidRequest extends Error {
  readonly code = 'invalid_request';
  readonly status = 400;
  readonly title = 'Invalid request';

  override get name(): string {
    return 'InvalidRequest';
  }
}

/** What the API shows of a key: never the hash, never the plaintext (except once, on creation). */
export interface KeyView {
  readonly id: string;
  readonly name: string;
  readonly workspaceId: string;
  readonly scope: string;
  readonly environment: string;
  readonly status: KeyStatus;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly rotatedFromId: string | null;
}

/** A key just made: its view and, this once, its plaintext. */
export interface IssuedKeyView extends KeyView {
  readonly key: string;
}

export interface PaymentsApiOptions {
  readonly keys: KeyManager;
  readonly data?: PaymentsData | undefined;
}

const KEY_STATUSES: readonly KeyStatus[] = ['active', 'revoked', 'expired'];

/**
 * The payments API without a framework: what each route does, with its input checked. Every
 * method takes the workspace of the authenticated key and acts on that workspace only. The
 * Express, Koa, Nest and Fastify examples route requests here and write back what it returns (201 for
 * the POST routes) or what `problemFor` renders of what it throws.
 */
export class PaymentsApi {
  readonly #keys: KeyManager;
  readonly #data: PaymentsData;

  constructor(options: PaymentsApiOptions) {
    this.#keys = options.keys;
    this.#data = options.data ?? new PaymentsData();
  }

  accounts(workspaceId: string): { data: Account[] } {
    return { data: this.#data.workspace(workspaceId).accounts };
  }

  payments(workspaceId: string): { data: Payment[] } {
    return { data: this.#data.workspace(workspaceId).payments };
  }

  reports(workspaceId: string): { data: { payments: number; totals: Record<string, number> } } {
    return { data: this.#data.report(workspaceId) };
  }

  /** `{ accountId, amount, description? }`: a payment from one of the workspace's accounts. */
  createPayment(workspaceId: string, body: unknown): Payment {
    const input = objectBody(body);
    const amount = input.amount;
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) {
      throw new InvalidRequest('amount must be a positive number');
    }
    const accountId = text(input.accountId, 'accountId');
    const description =
      input.description === undefined ? '' : text(input.description, 'description');
    const payment = this.#data.createPayment(workspaceId, { accountId, amount, description });
    if (payment === undefined)
      throw new InvalidRequest(`no account ${accountId} in this workspace`);
    return payment;
  }

  /** `{ url, events? }`: an http(s) URL told of the listed events (default `payment.created`). */
  createWebhook(workspaceId: string, body: unknown): Webhook {
    const input = objectBody(body);
    const url = text(input.url, 'url');
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new InvalidRequest('url must be an http(s) URL');
    }
    const events = input.events ?? ['payment.created'];
    if (!Array.isArray(events) || !events.every((e) => typeof e === 'string' && e.length > 0)) {
      throw new InvalidRequest('events must be a list of event names');
    }
    return this.#data.createWebhook(workspaceId, { url, events });
  }

  settings(workspaceId: string): { name: string; defaultCurrency: string } {
    return this.#data.workspace(workspaceId).settings;
  }

  /** `?status=active|revoked|expired&cursor=`: the workspace's keys, newest first, a page at a time. */
  async listKeys(
    workspaceId: string,
    query: { readonly status?: unknown; readonly cursor?: unknown },
  ): Promise<{ data: KeyView[]; nextCursor: string | null }> {
    const { status, cursor } = query;
    if (status !== undefined && !KEY_STATUSES.includes(status as KeyStatus)) {
      throw new InvalidRequest(`status must be one of ${KEY_STATUSES.join(', ')}`);
    }
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new InvalidRequest('cursor must be given once');
    }
    const page = await this.#keys.list({
      workspaceId,
      status: status as KeyStatus | undefined,
      cursor,
    });
    return { data: page.items.map(keyView), nextCursor: page.nextCursor ?? null };
  }

  /** `{ name, scope, expiresAt? }`: a new key of the workspace; its plaintext is in this answer only. */
  async createKey(workspaceId: string, body: unknown): Promise<IssuedKeyView> {
    const input = objectBody(body);
    if (!isScope(input.scope)) {
      throw new InvalidRequest('scope must be read-only, read-write or admin');
    }
    const issued = await this.#keys.create({
      workspaceId,
      name: text(input.name, 'name'),
      scope: input.scope,
      expiresAt: input.expiresAt === undefined ? undefined : text(input.expiresAt, 'expiresAt'),
    });
    return { ...keyView(issued.record), key: issued.key };
  }

  /** Revokes one of the workspace's keys; another workspace's key is 404 `api_key_not_found`. */
  async revokeKey(workspaceId: string, id: string): Promise<KeyView> {
    return keyView(await this.#keys.revoke(id, { workspaceId }));
  }

  /**
   * `{ overlapSeconds? }` (default 0): a successor with the same name and scope, its plaintext in
   * this answer only; the old key stops working at the end of the overlap.
   */
  async rotateKey(
    workspaceId: string,
    id: string,
    body: unknown,
  ): Promise<IssuedKeyView & { previous: KeyView }> {
    // No body at all is an empty one: rotating needs no input.
    const input = body === undefined ? {} : objectBody(body);
    const overlapSeconds = input.overlapSeconds ?? 0;
    if (
      typeof overlapSeconds !== 'number' ||
      !Number.isSafeInteger(overlapSeconds) ||
      overlapSeconds < 0
    ) {
      throw new InvalidRequest('overlapSeconds must be a non-negative integer');
    }
    const rotated = await this.#keys.rotate(id, { workspaceId, overlapMs: overlapSeconds * 1000 });
    return {
      ...keyView(rotated.issued.record),
      key: rotated.issued.key,
      previous: keyView(rotated.previous),
    };
  }
}

/** The answer to a request no route serves. */
export function notFound(): RenderedError {
  return renderProblem({
    code: 'not_found',
    title: 'Not found',
    message: 'No such route.',
    status: 404,
  });
}

/**
 * The problem+json answer for what a route threw: an `InvalidRequest` or `KeyManagementError`
 * as itself; a framework's own 4xx (a body that is not JSON, too large, a route not found) with
 * its status; anything else 500, logged. Authentication failures never come here: the adapters
 * answer those themselves.
 */
export function problemFor(error: unknown): RenderedError {
  if (error instanceof InvalidRequest || error instanceof KeyManagementError) {
    // Named fields: an Error's `message` is not enumerable, so spreading one would lose it.
    const { code, title, message, status } = error;
    return renderProblem({ code, title, message, status });
  }
  const status = clientErrorStatus(error);
  if (status === 404) return notFound();
  if (status !== undefined) {
    return renderProblem({
      code: 'invalid_request',
      title: 'Invalid request',
      message: 'The request body could not be read.',
      status,
    });
  }
  console.error('[demo] unexpected error:', error);
  return renderProblem({
    code: 'internal_error',
    title: 'Internal error',
    message: 'Something went wrong.',
    status: 500,
  });
}

/** The 4xx status a framework put on an error (body parsers and routers do), if any. */
function clientErrorStatus(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 500 ? value : undefined;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequest('send a JSON object body with Content-Type: application/json');
  }
  return body as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 500) {
    throw new InvalidRequest(`${field} must be a non-empty string`);
  }
  return value;
}

function keyView(info: ApiKeyInfo): KeyView {
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
