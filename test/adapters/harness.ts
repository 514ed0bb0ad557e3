import type { Authenticator } from '@orkesta/auth';

/**
 * One framework's app for the conformance table. Every adapter serves the same routes:
 *
 *   GET  /read                         read-only
 *   POST /write                        read-write
 *   GET  /admin                        admin
 *   GET  /workspaces/:workspaceId/read read-only, in that workspace
 *
 * and answers 200 `{ keyId, workspaceId, scope }` when admitted. The app trusts a proxy on
 * loopback, so `X-Forwarded-Proto: https` marks a request secure.
 */
export interface AdapterHarness {
  readonly name: string;
  start(authenticator: Authenticator): Promise<RunningApp>;
}

export interface RunningApp {
  readonly baseUrl: string;
  close(): Promise<void>;
}
