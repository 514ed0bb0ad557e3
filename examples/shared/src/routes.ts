import type { Scope } from '@orkesta/auth';

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** `:id` stands for a key id of the caller's workspace. */
  readonly path: string;
  /** The least scope the route admits; `public` needs no key. */
  readonly scope: Scope | 'public';
  /** The status of a successful call. */
  readonly status: 200 | 201;
  /** What it does, as the OpenAPI document says it. */
  readonly summary: string;
}

/**
 * The payments API's routes and the scope each needs: every example serves exactly these, and
 * the shared suite (`@orkesta/example-shared/testing`) calls each with each scope.
 */
export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', scope: 'public', status: 200, summary: 'Health check' },
  {
    method: 'GET',
    path: '/openapi.json',
    scope: 'public',
    status: 200,
    summary: 'This API as an OpenAPI 3.1 document',
  },
  {
    method: 'GET',
    path: '/v1/accounts',
    scope: 'read-only',
    status: 200,
    summary: "List the workspace's accounts",
  },
  {
    method: 'GET',
    path: '/v1/payments',
    scope: 'read-only',
    status: 200,
    summary: "List the workspace's payments",
  },
  {
    method: 'GET',
    path: '/v1/reports',
    scope: 'read-only',
    status: 200,
    summary: 'Payment totals',
  },
  {
    method: 'POST',
    path: '/v1/payments',
    scope: 'read-write',
    status: 201,
    summary: 'Create a payment',
  },
  {
    method: 'POST',
    path: '/v1/webhooks',
    scope: 'read-write',
    status: 201,
    summary: 'Configure a webhook',
  },
  {
    method: 'GET',
    path: '/v1/workspace/settings',
    scope: 'admin',
    status: 200,
    summary: 'Read the workspace settings',
  },
  {
    method: 'GET',
    path: '/v1/api-keys',
    scope: 'admin',
    status: 200,
    summary: "List the workspace's API keys",
  },
  {
    method: 'POST',
    path: '/v1/api-keys',
    scope: 'admin',
    status: 201,
    summary: 'Create an API key (its plaintext is shown once)',
  },
  {
    method: 'DELETE',
    path: '/v1/api-keys/:id',
    scope: 'admin',
    status: 200,
    summary: 'Revoke an API key',
  },
  {
    method: 'POST',
    path: '/v1/api-keys/:id/rotate',
    scope: 'admin',
    status: 201,
    summary: 'Rotate an API key',
  },
];
