import type { OpenApiDocument, OperationAccess } from '@orkesta/auth';
import { addApiKeyAuth } from '@orkesta/auth';
import type { RouteSpec } from './routes.js';
import { ROUTES } from './routes.js';

/** Where every example serves its OpenAPI document. */
export const OPENAPI_PATH = '/openapi.json';

/** A route's path as OpenAPI writes it: `/v1/api-keys/{id}`. */
export function openApiPath(route: RouteSpec): string {
  return route.path.replace(/:(\w+)/g, '{$1}');
}

/** The routes the document describes: all but the document itself. */
export const DOCUMENTED_ROUTES: readonly RouteSpec[] = ROUTES.filter(
  (route) => route.path !== OPENAPI_PATH,
);

/**
 * The payments API as an OpenAPI 3.1 document, written from ROUTES, with its authentication
 * documented by the core's `addApiKeyAuth`: each route's scope from ROUTES, `/health` public.
 * The Express, Koa and Fastify examples serve it at `/openapi.json`; the Nest example serves the
 * one `@nestjs/swagger` generates from its decorators instead.
 */
export function paymentsOpenApiDocument(): OpenApiDocument {
  const paths: Record<string, Record<string, object>> = {};
  const access = new Map<string, OperationAccess>();
  for (const route of DOCUMENTED_ROUTES) {
    const path = openApiPath(route);
    const method = route.method.toLowerCase();
    access.set(`${method} ${path}`, route.scope);
    const parameters = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      description: 'An API key id of the caller’s workspace.',
      schema: { type: 'string' },
    }));
    paths[path] ??= {};
    paths[path][method] = {
      summary: route.summary,
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(route.method === 'POST'
        ? { requestBody: { content: { 'application/json': { schema: { type: 'object' } } } } }
        : {}),
      responses: { [route.status]: { description: route.status === 201 ? 'Created' : 'OK' } },
    };
  }
  return addApiKeyAuth(
    { openapi: '3.1.0', info: { title: 'Payments (orkesta-auth demo)', version: '1.0.0' }, paths },
    { access: ({ method, path }) => access.get(`${method} ${path}`) },
  );
}
