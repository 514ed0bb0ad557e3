import type { Authenticator, SigningKeys } from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-koa';
import type { Middleware } from 'koa';
import Koa from 'koa';
import type { AdapterHarness, RunningApp } from './harness.js';
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
  async start(authenticator: Authenticator, signing: SigningKeys): Promise<RunningApp> {
    const app = new Koa();
    // Trust X-Forwarded-Proto: the harness's loopback client stands for the TLS proxy.
    app.proxy = true;
    app.use(serveJwks(signing));
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
    return runningApp(app.listen(0, '127.0.0.1'));
  },
};
