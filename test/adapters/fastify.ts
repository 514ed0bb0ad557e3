import type { Server } from 'node:http';
import type { Authenticator } from '@orkesta/auth';
import {
  orkestaAuth,
  orkestaJwks,
  requestLogSerializer,
  requireScope,
} from '@orkesta/auth-fastify';
import type { FastifyHttpOptions, FastifyRequest } from 'fastify';
import Fastify from 'fastify';
import type { AdapterHarness, HarnessOptions, RunningApp } from './harness.js';
import { baseUrlOf, TRUST_SETTING } from './harness.js';

/**
 * The harness routes: `/read`, `/write` and the workspace route ask for their scope in their
 * route config, `/admin` with the `requireScope` hook, so the table runs both ways.
 */
export const fastifyHarness: AdapterHarness = {
  name: 'fastify',
  proxyTrusts: ['loopback', 'none', 'elsewhere'],
  async start(authenticator: Authenticator, options: HarnessOptions = {}): Promise<RunningApp> {
    const trust = options.proxy ?? 'loopback';
    const { logger } = options;
    // Typed as the HTTP/1 server it is: the spreads below would otherwise widen it to HTTP/2.
    const app = Fastify({
      trustProxy: trust === 'loopback' ? '127.0.0.1' : TRUST_SETTING[trust],
      ...(options.tls === undefined ? {} : { https: options.tls }),
      // Fastify's own log, every level, into the logger the suite captures, with the request
      // serializer the README asks for: URLs are logged before any hook runs.
      ...(logger === undefined
        ? {}
        : {
            logger: {
              level: 'trace',
              serializers: { req: requestLogSerializer },
              stream: { write: (line: string) => logger.log(line) },
            },
          }),
    } as FastifyHttpOptions<Server>);
    if (options.signing !== undefined) await app.register(orkestaJwks, { jwks: options.signing });
    await app.register(orkestaAuth, {
      authenticator,
      workspace: (request) => (request.params as { workspaceId?: string }).workspaceId,
    });
    const view = (request: FastifyRequest) => {
      const key = request.auth!;
      return { keyId: key.keyId, workspaceId: key.workspaceId, scope: key.scope };
    };
    app.get('/read', { config: { orkesta: { scope: 'read-only' } } }, view);
    app.post('/write', { config: { orkesta: { scope: 'read-write' } } }, view);
    app.get('/admin', { onRequest: requireScope('admin') }, view);
    app.get('/workspaces/:workspaceId/read', { config: { orkesta: { scope: 'read-only' } } }, view);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      baseUrl: baseUrlOf(app.server, options),
      close: () => app.close(),
    };
  },
};
