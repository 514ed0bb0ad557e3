import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Authenticator } from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-koa';
import type { Middleware } from 'koa';
import Koa from 'koa';
import type { AdapterHarness, HarnessOptions, RunningApp } from './harness.js';
import { runningApp } from './harness.js';

const WORKSPACE_PATH = /^\/workspaces\/([^/]+)\/read$/;

/** The harness routes without a router package: method and path pick the scope guard. */
function guardFor(method: string, path: string): Middleware | undefined {
  if (method === 'GET' && (path === '/read' || WORKSPACE_PATH.test(path))) {
    return requireScope('read-only');
  }
  if (method === 'POST' && path === '/write') return requireScope('read-write');
  if (method === 'GET' && path === '/admin') return requireScope('admin');
  return undefined;
}

export const koaHarness: AdapterHarness = {
  name: 'koa',
  // Koa's app.proxy trusts X-Forwarded-* from any peer or from none.
  proxyTrusts: ['loopback', 'none'],
  async start(authenticator: Authenticator, options: HarnessOptions = {}): Promise<RunningApp> {
    const proxy = options.proxy ?? 'loopback';
    if (!this.proxyTrusts.includes(proxy)) {
      throw new Error(`Koa cannot trust a proxy at one address only (${proxy})`);
    }
    const app = new Koa();
    // The loopback client stands for the TLS proxy: trust X-Forwarded-Proto.
    app.proxy = proxy === 'loopback';
    if (options.signing !== undefined) app.use(serveJwks(options.signing));
    app.use(
      orkestaAuth({
        authenticator,
        workspace: (ctx) => WORKSPACE_PATH.exec(ctx.path)?.[1],
      }),
    );
    app.use(async (ctx, next) => {
      const guard = guardFor(ctx.method, ctx.path);
      if (guard === undefined) return next();
      await guard(ctx, async () => {
        const key = ctx.state.auth!;
        ctx.body = { keyId: key.keyId, workspaceId: key.workspaceId, scope: key.scope };
      });
    });
    const server =
      options.tls === undefined
        ? createHttpServer(app.callback())
        : createHttpsServer(options.tls, app.callback());
    return runningApp(server.listen(0, '127.0.0.1'), options);
  },
};
