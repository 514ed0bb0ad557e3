import type { RequestListener, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ApiKeyInfo,
  Authenticator,
  KeyManager,
  KeyStore,
  RateLimitPolicy,
  Scope,
} from '@orkesta/auth';
import { createAuthenticator, createKeyManager } from '@orkesta/auth';
import type { OpenedKeyStore, OpenedRedis } from '@orkesta/auth-cli';
import {
  openKeyStore,
  openRedis,
  REDIS_ENV,
  resolveRedisUrl,
  resolveStoreSpec,
  STORE_ENV,
} from '@orkesta/auth-cli';
import { PaymentsData } from './data.js';
import { QuietErrorLog } from './error-log.js';
import { OPENAPI_PATH } from './openapi.js';

/** The workspace the demo mints its first keys for. */
export const DEMO_WORKSPACE = 'ws_demo';
export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';

/** What every example's app is built from. */
export interface DemoServices {
  readonly authenticator: Authenticator;
  readonly keys: KeyManager;
  readonly data: PaymentsData;
}

/** A listening server: where it answers, and how to stop it. */
export interface DemoServer {
  readonly url: string;
  /** The Node server, when the demo made it (`listenHttp`). */
  readonly http?: Server;
  close(): Promise<void>;
}

export interface DemoAddress {
  readonly port: number;
  readonly host: string;
}

/** A wrong environment variable: the demo says which in one line and exits with status 2. */
export class DemoConfigurationError extends Error {
  override get name(): string {
    return 'DemoConfigurationError';
  }
}

/**
 * The demo's request rates, per key, by scope: low enough to hit by hand (a shell loop of curl)
 * and sure to be hit by any load test, so that the demo shows 429 with `Retry-After` and the
 * RateLimit fields. A burst of `limit`, then one more every `windowSeconds / limit` seconds.
 */
export const DEMO_RATE_LIMITS: Readonly<Record<Scope, RateLimitPolicy>> = {
  'read-only': { limit: 60, windowSeconds: 60 },
  'read-write': { limit: 20, windowSeconds: 60 },
  admin: { limit: 20, windowSeconds: 60 },
};

export interface DemoServicesOptions {
  /**
   * Redis (`ORKESTA_AUTH_REDIS`): the rate limits are kept there, exact across every instance,
   * and changes go out and are heard there as well as through the store's own feed.
   */
  readonly redis?: OpenedRedis | undefined;
  /** Where failures are written, one line per kind. Default: stderr, through `QuietErrorLog`. */
  readonly log?: QuietErrorLog;
}

/**
 * The key manager and authenticator the demo runs on `store`. The authenticator subscribes to the
 * store's change feed (`store.changes`), so a key revoked elsewhere (the CLI, another instance)
 * is refused here within a second; with Redis, to Redis's too. Every key is rate-limited by its
 * scope (`DEMO_RATE_LIMITS`). HTTPS is not required: nothing terminates TLS on a developer's
 * machine, and the banner says so.
 */
export function createDemoServices(
  store: KeyStore,
  options: DemoServicesOptions = {},
): DemoServices {
  const { redis } = options;
  const log = options.log ?? new QuietErrorLog((line) => console.error(line));
  const changeFeed = redis?.changesWith(store.changes) ?? store.changes;
  const keys = createKeyManager({
    store,
    ...(changeFeed === undefined ? {} : { changeFeed }),
    onError: (error) => log.report('telling other instances of a change failed', error),
  });
  const authenticator = createAuthenticator({
    store,
    requireHttps: false,
    ...(changeFeed === undefined ? {} : { changeFeed }),
    rateLimit: {
      scopes: DEMO_RATE_LIMITS,
      ...(redis === undefined
        ? {}
        : {
            limiter: redis.limiter({
              onFallback: (error) =>
                log.report('Redis did not answer; rate limits are per instance meanwhile', error),
            }),
          }),
    },
    hooks: {
      onError(error, context) {
        log.report(`${context.operation} failed`, error);
      },
    },
  });
  return { authenticator, keys, data: new PaymentsData() };
}

/** How the banner states the rate limits. */
export function rateLimitLine(redis: boolean): string {
  const rates = (Object.entries(DEMO_RATE_LIMITS) as [Scope, RateLimitPolicy][])
    .map(([scope, rate]) => `${scope} ${rate.limit}/${rate.windowSeconds}s`)
    .join(', ');
  return `Rate limits per key: ${rates}; over it, 429 with Retry-After (${redis ? 'kept in Redis, exact across instances' : 'kept in this process'}).`;
}

/** `PORT` (default 3000) and `HOST` (default 127.0.0.1), checked. */
export function demoAddress(env: NodeJS.ProcessEnv): DemoAddress {
  const rawPort = env.PORT === undefined || env.PORT === '' ? undefined : env.PORT;
  const port = rawPort === undefined ? DEFAULT_PORT : Number(rawPort);
  if (rawPort !== undefined && (!/^\d{1,5}$/.test(rawPort) || port > 65535)) {
    throw new DemoConfigurationError(
      `PORT must be a port number from 0 to 65535, got ${JSON.stringify(rawPort)}`,
    );
  }
  const host = env.HOST === undefined || env.HOST === '' ? DEFAULT_HOST : env.HOST;
  return { port, host };
}

/** Serves `handler` (an Express app, a Koa app's `callback()`) on `address`. */
export function listenHttp(handler: RequestListener, address: DemoAddress): Promise<DemoServer> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: httpUrl(address.host, port),
        http: server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections would hold close() open until they time out.
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** `http://host:port`, with an IPv6 host in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** What the first start made: the keys' plaintexts, shown this once. */
export interface MintedKeys {
  readonly admin: string;
  readonly readOnly: string;
}

/**
 * On the first start (no active admin key in `ws_demo`), mints an admin key and, for the curl
 * line that shows a refusal for scope, a read-only one. Otherwise mints nothing and returns the
 * active admin keys it found (ids and names only).
 */
export async function firstStart(
  keys: KeyManager,
): Promise<{ minted: MintedKeys } | { admins: ApiKeyInfo[] }> {
  const admins: ApiKeyInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await keys.list({
      workspaceId: DEMO_WORKSPACE,
      status: 'active',
      limit: 1000,
      cursor,
    });
    admins.push(...page.items.filter((key) => key.scope === 'admin'));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  if (admins.length > 0) return { admins };
  const admin = await keys.create({
    workspaceId: DEMO_WORKSPACE,
    name: 'demo-admin',
    scope: 'admin',
  });
  const readOnly = await keys.create({
    workspaceId: DEMO_WORKSPACE,
    name: 'demo-read-only',
    scope: 'read-only',
  });
  return { minted: { admin: admin.key, readOnly: readOnly.key } };
}

export interface BannerInput {
  readonly framework: string;
  readonly url: string;
  readonly store: string;
  /** Whether `ORKESTA_AUTH_STORE` named the store (the CLI must be given the same). */
  readonly storeFromEnv: boolean;
  /** The label of the Redis limits and changes are shared on, if any. */
  readonly redis?: string | undefined;
  /** In a cluster: how many worker processes serve, all on the one port. */
  readonly workers?: number | undefined;
  readonly start: { minted: MintedKeys } | { admins: ApiKeyInfo[] };
}

/** What the demo prints once it listens. Plaintext keys only in a first start's. */
export function banner(input: BannerInput): string[] {
  const { url, start } = input;
  const lines = [
    `orkesta-auth demo (${input.framework}): payments API on ${url}`,
    `Its OpenAPI document: ${url}${OPENAPI_PATH}`,
    `Key store: ${input.store}`,
    ...(input.redis === undefined
      ? []
      : [`Redis: ${input.redis} (rate limits, and changes as well as the store's own feed)`]),
    ...(input.workers === undefined
      ? []
      : [
          `${input.workers} worker processes on one port share the key store${input.redis === undefined ? '' : ' and Redis'}: one limit per key, a revocation refused by every worker within a second.`,
        ]),
    rateLimitLine(input.redis !== undefined),
    'HTTPS check is OFF (requireHttps: false) for local use; keep it on in production.',
    '',
  ];
  // The CLI opens the default store unless told otherwise: name this demo's store when it is
  // not the default. A SQLite path can be printed; a PostgreSQL URL may hold a password.
  const sqlite = input.store.startsWith('sqlite:');
  const storeFlag = input.storeFromEnv && sqlite ? ` --store ${shellQuote(input.store)}` : '';
  const cli = [
    `  pnpm orkesta-auth keys create --workspace ${DEMO_WORKSPACE} --name my-integration --scope read-write${storeFlag}`,
    ...(input.storeFromEnv && !sqlite
      ? [`  (with the same ${STORE_ENV} as this demo's: its password is not printed here)`]
      : []),
  ];
  if ('minted' in start) {
    const { admin, readOnly } = start.minted;
    lines.push(
      `First start: workspace ${DEMO_WORKSPACE} had no active admin key, so these were made.`,
      'Copy them now: they are shown this once, and the store keeps only their hashes.',
      `  admin      ${admin}`,
      `  read-only  ${readOnly}`,
      '',
      'Try:',
      `  curl -H "Authorization: Bearer ${readOnly}" ${url}/v1/accounts   # 200`,
      `  curl -X POST -H "Authorization: Bearer ${readOnly}" -H "Content-Type: application/json" -d '{"accountId":"acc_ws_demo_main","amount":10}' ${url}/v1/payments   # 403 insufficient_scope`,
      `  curl ${url}/v1/accounts   # 401 missing_api_key`,
      '',
      'The admin key manages keys here (GET|POST /v1/api-keys); or make one with the CLI:',
      ...cli,
    );
  } else {
    const ids = start.admins.map((key) => `${key.id} (${key.name})`).join(', ');
    lines.push(
      `Workspace ${DEMO_WORKSPACE} has an active admin key already: ${ids}. No key was made;`,
      'a key is shown only when it is made. Make one with the CLI:',
      ...cli,
      'then:',
      `  curl -H "Authorization: Bearer <the key>" ${url}/v1/accounts`,
    );
  }
  lines.push('', 'Stop with Ctrl+C.');
  return lines;
}

/** `value` as one shell word: as it is when that is safe, else in single quotes. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface RunDemoOptions {
  /** The name the banner gives the framework: `Express`, `Koa`, `NestJS`. */
  readonly framework: string;
  /** Builds the app on the services and listens on the address. */
  serve(services: DemoServices, address: DemoAddress): Promise<DemoServer>;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** What the demo's variables say, checked: a wrong one is a `DemoConfigurationError`. */
export interface DemoSettings {
  readonly address: DemoAddress;
  readonly spec: ReturnType<typeof resolveStoreSpec>;
  /** `ORKESTA_AUTH_REDIS`, when set. */
  readonly redisUrl: string | undefined;
}

/** Reads `PORT`, `HOST`, `ORKESTA_AUTH_STORE` and `ORKESTA_AUTH_REDIS`; throws on a wrong one. */
export function demoSettings(env: NodeJS.ProcessEnv): DemoSettings {
  return {
    address: demoAddress(env),
    spec: resolveStoreSpec(undefined, env),
    redisUrl: resolveRedisUrl(env),
  };
}

/** The store, Redis and services of one demo process, and how to close them. */
export interface OpenedDemo {
  readonly opened: OpenedKeyStore;
  readonly redis: OpenedRedis | undefined;
  readonly services: DemoServices;
  close(): Promise<void>;
}

/** How long the demo waits for Redis to answer at start before it gives up (exit 1). */
const REDIS_START_TIMEOUT_MS = 3_000;

/** Opens the store and Redis the settings name and builds the services on them. */
export async function openDemo(settings: DemoSettings): Promise<OpenedDemo> {
  const log = new QuietErrorLog((line) => console.error(line));
  const opened = await openKeyStore(settings.spec);
  let redis: OpenedRedis | undefined;
  try {
    if (settings.redisUrl !== undefined) {
      // Until Redis has answered once, its errors are the start's failure, said in one line.
      let starting = true;
      let lastError: unknown;
      redis = openRedis(settings.redisUrl, (error) => {
        if (starting) lastError = error;
        else log.report('Redis connection', error);
      });
      await redisAnswers(redis, () => lastError);
      starting = false;
    }
  } catch (error) {
    await redis?.close().catch(() => {});
    await opened.close().catch(() => {});
    throw error;
  }
  const services = createDemoServices(opened.store, { redis, log });
  return {
    opened,
    redis,
    services,
    async close() {
      await services.authenticator.close();
      await redis?.close();
      await opened.close();
      log.close();
    },
  };
}

/** Resolves once Redis answers a PING; rejects, naming it, if it does not within 3 s. */
async function redisAnswers(redis: OpenedRedis, lastError: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), REDIS_START_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    const cause = lastError() ?? error;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `Redis at ${redis.label} (${REDIS_ENV}) cannot be used: ${why}; start it, or unset ${REDIS_ENV} to keep limits in this process`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Listens with `options.serve`; a port in use says which variable moves it.
 */
export async function serveDemo(
  options: RunDemoOptions,
  services: DemoServices,
  address: DemoAddress,
): Promise<DemoServer> {
  try {
    return await options.serve(services, address);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EADDRINUSE') {
      throw new Error(
        `port ${address.port} on ${address.host} is in use (EADDRINUSE): set PORT to another port, or 0 for a free one`,
      );
    }
    throw error;
  }
}

/** A demo process that listens: its services, its server, and how to close both. */
export interface RunningDemo {
  readonly demo: OpenedDemo;
  readonly server: DemoServer;
  close(): Promise<void>;
}

/** Opens the demo on `settings` and serves it; on a failure, closes what was opened and rethrows. */
export async function openAndServe(
  options: RunDemoOptions,
  settings: DemoSettings,
): Promise<RunningDemo> {
  const demo = await openDemo(settings);
  let server: DemoServer;
  try {
    server = await serveDemo(options, demo.services, settings.address);
  } catch (error) {
    await demo.close().catch(() => {});
    throw error;
  }
  return {
    demo,
    server,
    async close() {
      await server.close();
      await demo.close();
    },
  };
}

/**
 * The demo's main: opens the store `ORKESTA_AUTH_STORE` names (default
 * `sqlite:.orkesta/keys.db`) and the Redis `ORKESTA_AUTH_REDIS` names (if any), mints the first
 * keys if `ws_demo` has no admin, serves on `PORT` (default 3000), prints the banner, and on
 * SIGINT or SIGTERM closes the server, the authenticator, Redis and the store, then exits. A
 * wrong variable is one line on stderr and exit status 2; a store or Redis it cannot use, or a
 * port it cannot listen on, one line and status 1.
 */
export async function runDemo(options: RunDemoOptions): Promise<void> {
  const env = options.env ?? process.env;
  let settings: DemoSettings;
  try {
    settings = demoSettings(env);
  } catch (error) {
    return fail(2, error);
  }

  let running: RunningDemo;
  try {
    // Listen first: a port in use must not cost a minted key that is never shown.
    running = await openAndServe(options, settings);
  } catch (error) {
    return fail(1, error);
  }
  const { demo, server } = running;
  try {
    const start = await firstStart(demo.services.keys);
    const lines = banner({
      framework: options.framework,
      url: server.url,
      store: demo.opened.label,
      storeFromEnv: env[STORE_ENV] !== undefined && env[STORE_ENV] !== '',
      redis: demo.redis?.label,
      start,
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    await running.close().catch(() => {});
    return fail(1, error);
  }
  stopOnSignals(() => running.close(), 'closing the server and the key store.');
}

/**
 * On SIGINT or SIGTERM: says `saying`, runs `close`, exits 0 (1 if closing failed). A second
 * signal stops waiting for connections to finish.
 */
export function stopOnSignals(close: () => Promise<void>, saying: string): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: ${saying}`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('demo: closing failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** One line on stderr, `demo: …`, and the exit status. */
export function fail(status: number, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`demo: ${message}`);
  process.exitCode = status;
}
