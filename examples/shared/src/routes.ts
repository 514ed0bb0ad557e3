import type { Scope } from '@orkesta/auth';

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** `:id` stands for a key id of the caller's workspace. */
  readonly path: string;
  /** The least scope the route admits; `public` needs no key. */
  readonly scope: Scope | 'public';
  /** The status of a successful call. */
  readonly status: 200 | 201;
}

/**
 * The payments API's routes and the scope each needs: every example serves exactly these, and
 * the shared suite (`@orkesta/example-shared/testing`) calls each with each scope.
 */
export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', scope: 'public', status: 200 },
  { method: 'GET', path: '/v1/accounts', scope: 'read-only', status: 200 },
  { method: 'GET', path: '/v1/payments', scope: 'read-only', status: 200 },
  { method: 'GET', path: '/v1/reports', scope: 'read-only', status: 200 },
  { method: 'POST', path: '/v1/payments', scope: 'read-write', status: 201 },
  { method: 'POST', path: '/v1/webhooks', scope: 'read-write', status: 201 },
  { method: 'GET', path: '/v1/workspace/settings', scope: 'admin', status: 200 },
  { method: 'GET', path: '/v1/api-keys', scope: 'admin', status: 200 },
  { method: 'POST', path: '/v1/api-keys', scope: 'admin', status: 201 },
  { method: 'DELETE', path: '/v1/api-keys/:id', scope: 'admin', status: 200 },
  { method: 'POST', path: '/v1/api-keys/:id/rotate', scope: 'admin', status: 201 },
];
