import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Authenticator } from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-express';
import type { Request, Response } from 'express';
import express from 'express';
import type { AdapterHarness, HarnessOptions, RunningApp } from './harness.js';
import { runningApp, TRUST_SETTING } from './harness.js';

function admitted(req: Request, res: Response): void {
  const key = req.auth!;
  res.json({ keyId: key.keyId, workspaceId: key.workspaceId, scope: key.scope });
}

/** The table's routes on Express, unstarted: `start` serves it, other suites wrap it. */
export function contractExpressApp(
  authenticator: Authenticator,
  options: HarnessOptions = {},
): express.Express {
  const app = express();
  app.set('trust proxy', TRUST_SETTING[options.proxy ?? 'loopback']);
  if (options.signing !== undefined) app.get('/.well-known/jwks.json', serveJwks(options.signing));

  const workspace = express.Router({ mergeParams: true });
  workspace.use(
    orkestaAuth({ authenticator, workspace: (req) => req.params.workspaceId as string }),
  );
  workspace.get('/read', requireScope('read-only'), admitted);
  app.use('/workspaces/:workspaceId', workspace);

  app.use(orkestaAuth({ authenticator }));
  app.get('/read', requireScope('read-only'), admitted);
  app.post('/write', requireScope('read-write'), admitted);
  app.get('/admin', requireScope('admin'), admitted);
  return app;
}

export const expressHarness: AdapterHarness = {
  name: 'express',
  proxyTrusts: ['loopback', 'none', 'elsewhere'],
  async start(authenticator: Authenticator, options: HarnessOptions = {}): Promise<RunningApp> {
    const app = contractExpressApp(authenticator, options);
    const server =
      options.tls === undefined ? createHttpServer(app) : createHttpsServer(options.tls, app);
    return runningApp(server.listen(0, '127.0.0.1'), options);
  },
};
