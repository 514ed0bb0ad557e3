import type { AuthError } from './errors.js';
import { ConfigurationError, InsufficientScopeError } from './errors.js';
import { optionsObject } from './options.js';

/** An RFC 9457 problem details body, plus the stable `code`. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
}

/** A failure, ready for any framework to write: status, headers and a problem+json body. */
export interface RenderedError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemDetails;
}

/** Anything with the shape of a problem: `AuthError` and `KeyManagementError` both are. */
export interface Problem {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

export interface RenderOptions {
  /** The `realm` of `WWW-Authenticate` challenges. Default `"api"`. */
  readonly realm?: string;
  /** Prefix of the problem `type` URI; the code is appended. Default `"urn:orkesta-auth:error:"`. */
  readonly problemTypeBase?: string;
}

const RENDER_OPTIONS: readonly (keyof RenderOptions)[] = ['realm', 'problemTypeBase'];

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const DEFAULT_REALM = 'api';
export const DEFAULT_PROBLEM_TYPE_BASE = 'urn:orkesta-auth:error:';

/** An RFC 7230 quoted-string: `"` and `\` are escaped with a backslash. */
export function quoteHeaderValue(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// Realms are quoted-strings; control characters and non-ASCII cannot be sent in a header.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Renders problems as the contract says. Built once per authenticator; rendering is allocation-light. */
export class ErrorRenderer {
  readonly realm: string;
  readonly #typeBase: string;
  readonly #challenges: Readonly<Record<string, string>>;

  constructor(options?: RenderOptions) {
    const checked = optionsObject(
      options,
      RENDER_OPTIONS,
      undefined,
      '{ realm?, problemTypeBase? }',
    );
    // `null` is a mistake, not a request for the default: only an absent option defaults.
    const realm = checked.realm === undefined ? DEFAULT_REALM : checked.realm;
    if (typeof realm !== 'string' || realm.length === 0 || !PRINTABLE_ASCII.test(realm)) {
      throw new ConfigurationError(
        'realm must be a non-empty string of printable ASCII characters',
      );
    }
    const typeBase =
      checked.problemTypeBase === undefined ? DEFAULT_PROBLEM_TYPE_BASE : checked.problemTypeBase;
    if (typeof typeBase !== 'string' || !PRINTABLE_ASCII.test(typeBase)) {
      throw new ConfigurationError(
        'problemTypeBase must be a string of printable ASCII characters',
      );
    }
    this.realm = realm;
    this.#typeBase = typeBase;
    const bare = `Bearer realm=${quoteHeaderValue(realm)}`;
    this.#challenges = {
      bare,
      invalid_request: `${bare}, error="invalid_request"`,
      invalid_token: `${bare}, error="invalid_token"`,
    };
  }

  /** The response for a request-time failure. */
  render(error: AuthError): RenderedError {
    const headers: Record<string, string> = {
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Cache-Control': 'no-store',
    };
    const challenge = this.challenge(error);
    if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
    if (error.retryAfterSeconds !== undefined) {
      headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
    }
    if (error.rateLimitFields !== undefined) Object.assign(headers, error.rateLimitFields);
    return { status: error.status, headers, body: this.problem(error) };
  }

  /** The problem body for any coded error (request-time or key management). */
  problem(error: Problem): ProblemDetails {
    return {
      type: this.#typeBase + error.code,
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
    };
  }

  /** The `WWW-Authenticate` value for `error`, if it carries a challenge. */
  challenge(error: AuthError): string | undefined {
    const kind = error.challenge;
    if (kind === undefined) return undefined;
    if (error instanceof InsufficientScopeError) {
      return `${this.#challenges.bare}, error="insufficient_scope", scope=${quoteHeaderValue(error.requiredScope)}`;
    }
    return this.#challenges[kind];
  }
}

const defaultRenderer = new ErrorRenderer();

/** Renders with the default realm. Authenticators carry their own renderer for their realm. */
export function renderAuthError(error: AuthError): RenderedError {
  return defaultRenderer.render(error);
}

/** A problem+json response for any coded error, e.g. a `KeyManagementError` in an admin API. */
export function renderProblem(error: Problem): RenderedError {
  return {
    status: error.status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Cache-Control': 'no-store' },
    body: defaultRenderer.problem(error),
  };
}
