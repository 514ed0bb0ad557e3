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
}

/**
 * A valid key sent over plain HTTP while HTTPS is required. The request got 403
 * `https_required` all the same, but the secret crossed the network in the clear.
 */
export interface InsecureKeyEvent extends RequestOrigin {
  /** The key whose secret was exposed. Never the secret. */
  readonly keyId: string;
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
}

const HOOK_NAMES = ['onAuthenticated', 'onRejected', 'onError', 'onInsecureKey'] as const;

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
    this.#hooks = hooks;
  }

  /** Whether anything listens for keys sent over plain HTTP (checking costs a lookup). */
  get wantsInsecureKeys(): boolean {
    return this.#hooks.onInsecureKey !== undefined;
  }

  authenticated(key: AuthenticatedKey, origin: Partial<RequestOrigin>): void {
    if (this.#hooks.onAuthenticated === undefined) return;
    this.#call(this.#hooks.onAuthenticated, { key, ip: origin.ip, path: origin.path });
  }

  rejected(error: AnyAuthError, origin: Partial<RequestOrigin> | undefined): void {
    if (this.#hooks.onRejected === undefined) return;
    this.#call(this.#hooks.onRejected, {
      code: error.code,
      status: error.status,
      keyId: error.keyId,
      ip: origin?.ip,
      path: origin?.path,
    });
  }

  insecureKey(event: InsecureKeyEvent): void {
    if (this.#hooks.onInsecureKey !== undefined) this.#call(this.#hooks.onInsecureKey, event);
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
