import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Authenticator, SigningKeys } from '@orkesta/auth';

/**
 * One framework's app for the conformance table. Every adapter serves the same routes:
 *
 *   GET  /read                         read-only
 *   POST /write                        read-write
 *   GET  /admin                        admin
 *   GET  /workspaces/:workspaceId/read read-only, in that workspace
 *   GET  /.well-known/jwks.json        public: the issuer's JWKS, by the adapter's helper
 *
 * and answers 200 `{ keyId, workspaceId, scope }` when admitted. The app trusts a proxy on
 * loopback, so `X-Forwarded-Proto: https` marks a request secure.
 */
export interface AdapterHarness {
  readonly name: string;
  start(authenticator: Authenticator, signing: SigningKeys): Promise<RunningApp>;
}

export interface RunningApp {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Waits for `server` (listening on 127.0.0.1, port 0) and describes it as a `RunningApp`. */
export async function runningApp(server: Server): Promise<RunningApp> {
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
