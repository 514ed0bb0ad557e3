import type { Authenticator, SigningKeys } from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-express';
import type { Request, Response } from 'express';
import express from 'express';
import type { AdapterHarness, RunningApp } from './harness.js';
import { runningApp } from './harness.js';

function admitted(req: Request, res: Response): void {
  const key = req.auth!;
  res.json({ keyId: key.keyId, workspaceId: key.workspaceId, scope: key.scope });
}

export const expressHarness: AdapterHarness = {
  name: 'express',
  async start(authenticator: Authenticator, signing: SigningKeys): Promise<RunningApp> {
    const app = express();
    app.set('trust proxy', 'loopback');
    app.get('/.well-known/jwks.json', serveJwks(signing));

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

    return runningApp(app.listen(0, '127.0.0.1'));
  },
};
