import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoggerService } from '@nestjs/common';
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
 * and answers 200 `{ keyId, workspaceId, scope }` when admitted. By default the app trusts a
 * proxy on loopback, so `X-Forwarded-Proto: https` marks a request secure.
 */
export interface AdapterHarness {
  readonly name: string;
  /** The proxy trusts this framework can express: Koa trusts every proxy or none. */
  readonly proxyTrusts: readonly ProxyTrust[];
  start(authenticator: Authenticator, options?: HarnessOptions): Promise<RunningApp>;
}

/**
 * Which proxy the app trusts for `X-Forwarded-Proto` and `X-Forwarded-For`, in the framework's
 * own setting: `loopback` (the test client stands for the TLS-terminating proxy), `none`, or
 * `elsewhere`, one proxy at 192.0.2.1 (TEST-NET-1: no traffic goes there, it is only a setting).
 */
export type ProxyTrust = 'loopback' | 'none' | 'elsewhere';

/** The address `elsewhere` trusts. */
export const ELSEWHERE_PROXY = '192.0.2.1';

/** Express's and Fastify's spelling of each trust. */
export const TRUST_SETTING: Readonly<Record<ProxyTrust, string | false>> = {
  loopback: 'loopback',
  none: false,
  elsewhere: ELSEWHERE_PROXY,
};

export interface HarnessOptions {
  /** Default `loopback`. */
  readonly proxy?: ProxyTrust;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Nest's logger for the Nest apps, and where Fastify's log goes; default none. */
  readonly logger?: LoggerService;
  /** Serve this issuer's JWKS at /.well-known/jwks.json, as a signed-key issuer does. */
  readonly signing?: SigningKeys;
}

export interface RunningApp {
  /** `http://127.0.0.1:<port>`, or `https://…` when served over TLS. */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Waits for `server` (listening on 127.0.0.1, port 0) and describes it as a `RunningApp`. */
export async function runningApp(
  server: Server,
  options: HarnessOptions = {},
): Promise<RunningApp> {
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    baseUrl: baseUrlOf(server, options),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Where a listening server answers. */
export function baseUrlOf(server: Server, options: HarnessOptions): string {
  const { port } = server.address() as AddressInfo;
  return `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
}
