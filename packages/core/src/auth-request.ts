import type { AnyAuthError } from './errors.js';
import type { KeyEnvironment } from './key-format.js';
import type { Scope } from './scopes.js';
import type { AuthorizationInput } from './steps/extract.js';

/** A request as every adapter translates it. */
export interface AuthRequest {
  /** The Authorization field value(s); see `authorizationFromRawHeaders`. */
  readonly authorization: AuthorizationInput;
  /** Whether the request came over HTTPS, as the framework judges it (trust proxy honoured). */
  readonly secure: boolean;
  /**
   * Client address as the framework judges it (its trust-proxy setting honoured, never a raw
   * `X-Forwarded-For`): the unit of brute-force throttling, and reported to hooks.
   */
  readonly ip?: string | undefined;
  /** Request path; reported to hooks. */
  readonly path?: string | undefined;
  /** The workspace the route belongs to, when it names one. */
  readonly workspaceId?: string | undefined;
  /** The least scope the route needs. */
  readonly requiredScope?: Scope | undefined;
}

/** The authenticated key a request carries. Holds nothing secret. */
export interface AuthenticatedKey {
  readonly keyId: string;
  readonly workspaceId: string;
  readonly scope: Scope;
  readonly environment: KeyEnvironment;
  readonly expiresAt: Date | null;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly key: AuthenticatedKey;
      /** Response headers for an admitted request: the `RateLimit` fields, when enabled. */
      readonly headers?: Readonly<Record<string, string>> | undefined;
    }
  | {
      readonly ok: false;
      readonly error: AnyAuthError;
      /**
       * Headers to send with the refusal besides those `render` gives: the `RateLimit` fields
       * when the rate step admitted the request and a later step (scope) refused it.
       */
      readonly headers?: Readonly<Record<string, string>> | undefined;
    };

/** What a route requires of an authenticated key. */
export interface AccessRequirement {
  readonly workspaceId?: string | undefined;
  readonly scope?: Scope | undefined;
}

/** Where a request came from, for audit; never the Authorization value. */
export interface RequestOrigin {
  readonly ip: string | undefined;
  readonly path: string | undefined;
}
