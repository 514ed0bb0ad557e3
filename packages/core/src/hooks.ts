import type { AuthenticatedKey, RequestOrigin } from './auth-request.js';
import type { AnyAuthError } from './errors.js';
import { ConfigurationError } from './errors.js';
import { closestName, rejectUnknownNames } from './options.js';

export interface AuthenticatedEvent extends RequestOrigin {
  readonly key: AuthenticatedKey;
}

export interface RejectedEvent extends RequestOrigin {
  readonly code: AnyAuthError['code'];
  readonly status: number;
  /** The key id, when the request got as far as a well-formed key. */
  readonly keyId: string | undefined;
  /**
   * The key, when it was proven before the refusal (workspace, rate and scope refusals, the
   * ones `onAuthenticated` fired before): its scope, environment and workspace. Otherwise
   * `undefined`: a refusal before the key is proven knows no more than its id.
   */
  readonly key?: AuthenticatedKey | undefined;
}

/**
 * A valid key sent over plain HTTP while HTTPS is required. The request got 403
 * `https_required` all the same, but the secret crossed the network in the clear.
 */
export interface InsecureKeyEvent extends RequestOrigin {
  /** The key whose secret was exposed. Never the secret. */
  readonly keyId: string;
}

/** How a store call ended: a record, none, a failure (or a record that makes no sense), a timeout. */
export type LookupResult = 'found' | 'not_found' | 'error' | 'timeout';

/**
 * One call of the store's `findById`: a cache miss (a cache hit asks no store), shared by every
 * request that waits on it (single flight), so one event per store call.
 */
export interface LookupEvent {
  /** The key id looked up. Never a secret. */
  readonly keyId: string;
  /** How long the store took to answer (or to time out), in milliseconds, on a monotonic clock. */
  readonly durationMs: number;
  /** `error` also for a record that makes no sense; either way the request gets 503. */
  readonly result: LookupResult;
}

export interface ErrorContext {
  readonly operation: 'lookup' | 'last-used' | 'hook' | 'rate-limit' | 'jwks';
  readonly keyId?: string | undefined;
}

/**
 * Audit and metrics hooks. They receive key ids and codes, never a secret. A key that looks like
 * a hook (`onSomething`, or a near miss of one) but is none of these throws at creation (a typo);
 * other keys are the hooks' own state. A request fires
 * `onAuthenticated` once its key is proven (compare and status passed), and `onRejected` when
 * it is refused; a request refused after its key was proven (workspace, rate, scope) fires
 * both, in that order, on every adapter.
 */
export interface AuthHooks {
  onAuthenticated?(event: AuthenticatedEvent): void;
  onRejected?(event: RejectedEvent): void;
  /**
   * A store failure, a malformed stored record, a failed last-used write, a failing rate
   * limiter, an unreachable JWKS, a throwing hook.
   */
  onError?(error: unknown, context: ErrorContext): void;
  /**
   * A valid key arrived over plain HTTP while HTTPS is required: treat it as leaked (rotate or
   * revoke it, tell its owner). The request is refused with 403 `https_required` whatever it
   * carries; the key is checked after that, off the request's path. Only a token whose secret
   * the stored hash accepts is reported: a key id alone, public by design, is not enough.
   */
  onInsecureKey?(event: InsecureKeyEvent): void;
  /**
   * The store was asked for a key (a cache miss): its id, how long the store took, what it
   * gave. For latency metrics; `onError` hears of a failure as well.
   */
  onLookup?(event: LookupEvent): void;
}

const HOOK_NAMES = [
  'onAuthenticated',
  'onRejected',
  'onError',
  'onInsecureKey',
  'onLookup',
] as const;

/** The hooks that receive one event each (every hook but `onError`). */
const EVENT_HOOK_NAMES = ['onAuthenticated', 'onRejected', 'onInsecureKey', 'onLookup'] as const;

/**
 * The names of `hooks` that look like hooks, own or inherited from its class: `onSomething`, or
 * a near miss of one of ours (`onerror`). Each must be one of ours, so that a misspelt
 * `onAuthenticate` throws rather than never being called. Other keys are the hooks' own state
 * (a logger, a counter, an `onboarding` flag) and are left alone.
 */
function hookLikeNames(hooks: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = hooks; o !== null && o !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor') continue;
      if (/^[oO]n[A-Z]/.test(name) || closestName(name, HOOK_NAMES) !== undefined) names.add(name);
    }
    o = Object.getPrototypeOf(o) as object | null;
  }
  return [...names];
}

/**
 * Hooks and events: calls the application's hooks, so that none of them can break a request. A
 * hook that throws is reported to `onError` (operation `hook`); an `onError` that throws has
 * nowhere left to report to and is ignored.
 */
export class HookCaller {
  readonly #hooks: AuthHooks;

  constructor(given: AuthHooks | undefined) {
    this.#hooks = checkedHooks(given);
  }

  /** Whether anything listens for keys sent over plain HTTP (checking costs a lookup). */
  get wantsInsecureKeys(): boolean {
    return this.#hooks.onInsecureKey !== undefined;
  }

  authenticated(key: AuthenticatedKey, origin: Partial<RequestOrigin>): void {
    if (this.#hooks.onAuthenticated === undefined) return;
    this.#call(this.#hooks.onAuthenticated, { key, ip: origin.ip, path: origin.path });
  }

  rejected(
    error: AnyAuthError,
    origin: Partial<RequestOrigin> | undefined,
    key?: AuthenticatedKey,
  ): void {
    if (this.#hooks.onRejected === undefined) return;
    this.#call(this.#hooks.onRejected, {
      code: error.code,
      status: error.status,
      keyId: error.keyId,
      key,
      ip: origin?.ip,
      path: origin?.path,
    });
  }

  insecureKey(event: InsecureKeyEvent): void {
    if (this.#hooks.onInsecureKey !== undefined) this.#call(this.#hooks.onInsecureKey, event);
  }

  lookedUp(event: LookupEvent): void {
    if (this.#hooks.onLookup !== undefined) this.#call(this.#hooks.onLookup, event);
  }

  error(error: unknown, context: ErrorContext): void {
    try {
      this.#hooks.onError?.(error, context);
    } catch {
      // An error hook that throws has nowhere left to report to; the request is unaffected.
    }
  }

  #call<E>(hook: (event: E) => void, event: E): void {
    try {
      hook.call(this.#hooks, event);
    } catch (error) {
      this.error(error, { operation: 'hook' });
    }
  }
}

/** `given` (none: `{}`), once checked: an object whose hook-like keys are our hooks, as functions. */
function checkedHooks(given: AuthHooks | undefined): AuthHooks {
  if (given !== undefined && (given === null || typeof given !== 'object')) {
    throw new ConfigurationError('hooks must be an object of functions');
  }
  const hooks: AuthHooks = given ?? {};
  rejectUnknownNames(hookLikeNames(hooks), HOOK_NAMES, 'hooks');
  for (const name of HOOK_NAMES) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function') {
      throw new ConfigurationError(`hooks.${name} must be a function`);
    }
  }
  return hooks;
}

type EventHook = (this: AuthHooks, event: unknown) => void;

/**
 * One hooks object that calls each of `hooks` in turn (`undefined` ones are skipped): telemetry
 * beside an audit log, say. Each is checked now, as `createAuthenticator` checks its `hooks`. A
 * hook that throws stops none of the others: its error goes to every `onError` (operation
 * `hook`), and an `onError` that throws is ignored. Only the hooks some part has are defined, so
 * a combination without `onInsecureKey` costs no insecure-key lookups. Each hook is called with
 * its own object as `this`, as the authenticator calls it; which hooks a part has is read now.
 */
export function combineHooks(...hooks: readonly (AuthHooks | undefined)[]): AuthHooks {
  const parts = hooks.map(checkedHooks);
  const combined: { -readonly [K in keyof AuthHooks]: AuthHooks[K] } = {};
  const reporters = parts.filter((part) => part.onError !== undefined);
  const report = (error: unknown, context: ErrorContext): void => {
    for (const part of reporters) {
      try {
        part.onError!(error, context);
      } catch {
        // An error hook that throws has nowhere left to report to.
      }
    }
  };
  if (reporters.length > 0) combined.onError = report;
  for (const name of EVENT_HOOK_NAMES) {
    const listeners = parts.filter((part) => part[name] !== undefined);
    if (listeners.length === 0) continue;
    combined[name] = (event: never) => {
      for (const part of listeners) {
        try {
          (part[name] as EventHook).call(part, event);
        } catch (error) {
          report(error, { operation: 'hook' });
        }
      }
    };
  }
  return combined;
}
