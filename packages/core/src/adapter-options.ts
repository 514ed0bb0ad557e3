import { Authenticator } from './authenticator.js';
import type { AuthenticatorOptions } from './authenticator-options.js';
import { AUTHENTICATOR_OPTIONS } from './authenticator-options.js';
import { ConfigurationError } from './errors.js';
import { rejectUnknownOptions } from './options.js';

/** Either an authenticator made elsewhere, or the options to make one. */
export type AuthenticatorSource = AuthenticatorOptions | { readonly authenticator: Authenticator };

/**
 * For adapters: the authenticator a middleware, guard or plugin should use, from options that
 * are either an `authenticator` made elsewhere or the options to build one, beside the adapter's
 * own (`adapterOptions`, their names). Every key is checked: an unknown one (a typo) throws,
 * naming the closest known option; authenticator options next to a ready authenticator would be
 * ignored, so they throw too.
 */
export function authenticatorFromOptions(
  options: AuthenticatorSource & object,
  adapterOptions: readonly string[],
): Authenticator {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options are required: at least { store } or { authenticator }');
  }
  const own = ['authenticator', ...adapterOptions];
  rejectUnknownOptions(options, [...AUTHENTICATOR_OPTIONS, ...own]);
  const given = (options as { authenticator?: unknown }).authenticator;
  if (given === undefined) {
    const authenticatorOptions: Record<string, unknown> = { ...options };
    for (const name of own) delete authenticatorOptions[name];
    return new Authenticator(authenticatorOptions as unknown as AuthenticatorOptions);
  }
  if (!(given instanceof Authenticator)) {
    throw new ConfigurationError('authenticator must be made by createAuthenticator()');
  }
  const ignored = Object.keys(options).filter((name) => !own.includes(name));
  if (ignored.length > 0) {
    throw new ConfigurationError(
      `${ignored.join(', ')} cannot be given with authenticator: pass them to createAuthenticator()`,
      { option: ignored[0]! },
    );
  }
  return given;
}

/** What every middleware adapter (Express, Koa) takes besides the authenticator's options. */
export interface MiddlewareOptions<Request, FailureMode extends string> {
  /** The route's workspace, read from the framework's request; `undefined` for none. */
  readonly workspace?: ((request: Request) => string | undefined) | undefined;
  /** How a refusal leaves the middleware: `'respond'`, or the adapter's hand-over mode. */
  readonly onFailure?: FailureMode | 'respond' | undefined;
}

/** A middleware adapter's options, checked. */
export interface ResolvedMiddlewareOptions<Request, FailureMode extends string> {
  readonly authenticator: Authenticator;
  readonly workspace: ((request: Request) => string | undefined) | undefined;
  readonly onFailure: FailureMode | 'respond';
}

/**
 * For middleware adapters: their options checked once, at creation. Returns the authenticator
 * (see `authenticatorFromOptions`), the workspace resolver and the failure mode, which is
 * `'respond'` or the adapter's `handOver` mode (`'next'` in Express, `'throw'` in Koa).
 */
export function middlewareOptions<Request, FailureMode extends string>(
  options: MiddlewareOptions<Request, FailureMode> & AuthenticatorSource,
  handOver: FailureMode,
): ResolvedMiddlewareOptions<Request, FailureMode> {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('the middleware needs options: at least { store }');
  }
  // The adapter's own options first: building the authenticator subscribes to its change feed
  // (a Redis feed opens a connection), which a refusal after it would leave open.
  const { workspace, onFailure = 'respond' } = options;
  if (workspace !== undefined && typeof workspace !== 'function') {
    throw new ConfigurationError('workspace must be a function (request) => string | undefined');
  }
  if (onFailure !== 'respond' && onFailure !== handOver) {
    throw new ConfigurationError(`onFailure must be "respond" or "${handOver}"`);
  }
  const authenticator = authenticatorFromOptions(options, ['workspace', 'onFailure']);
  return { authenticator, workspace, onFailure };
}
