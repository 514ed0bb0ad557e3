import { MalformedAuthorizationHeaderError, MissingApiKeyError } from '../errors.js';

/**
 * The Authorization field values of a request: a string when it came once, a list when the
 * framework kept every copy, `undefined` when absent.
 */
export type AuthorizationInput = string | readonly string[] | undefined;

/** Longest Authorization value read by default; anything longer is refused unparsed. */
export const DEFAULT_MAX_HEADER_LENGTH = 1024;

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, with b64token = 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=". The scheme is case-insensitive (RFC 7235 §2.1).
// Tested without a capture, so a well-formed value allocates nothing but the token itself.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9\-._~+/]+=*$/;
// The auth-scheme a value starts with: an RFC 7230 token, up to the first character that
// cannot be in one (a space, a tab, a "=" …).
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const SCHEME_LENGTH = 6;
const SPACE = 0x20;

/**
 * The extract step: the bearer token of a request, or the contract's error.
 * `MissingApiKeyError` when there is no Authorization header; `MalformedAuthorizationHeaderError`
 * for anything but one well-formed `Bearer <b64token>` no longer than `maxLength`, marked
 * `otherScheme` (a bare challenge, RFC 6750 §3.1) when the value names another scheme. Never
 * throws; never echoes the value.
 */
export function extractBearerToken(
  authorization: AuthorizationInput,
  maxLength: number = DEFAULT_MAX_HEADER_LENGTH,
): string | MissingApiKeyError | MalformedAuthorizationHeaderError {
  let value: unknown = authorization;
  if (Array.isArray(value)) {
    if (value.length === 0) return new MissingApiKeyError();
    if (value.length > 1) {
      return new MalformedAuthorizationHeaderError(
        'Send exactly one Authorization header; this request has several.',
      );
    }
    value = value[0];
  }
  if (value === undefined) return new MissingApiKeyError();
  if (typeof value !== 'string' || value.length === 0) {
    return new MalformedAuthorizationHeaderError();
  }
  if (value.length <= maxLength && BEARER.test(value)) {
    let start = SCHEME_LENGTH + 1;
    while (value.charCodeAt(start) === SPACE) start++;
    return value.slice(start);
  }
  if (isOtherScheme(value)) {
    return new MalformedAuthorizationHeaderError(
      'This API accepts API keys only, as "Authorization: Bearer <api key>".',
      { otherScheme: true },
    );
  }
  if (value.length > maxLength) {
    return new MalformedAuthorizationHeaderError(
      `The Authorization header is longer than ${maxLength} characters.`,
    );
  }
  return new MalformedAuthorizationHeaderError();
}

/** Whether `value` starts with an auth-scheme that is not Bearer (`Basic`, `Bearer2`, `Token`). */
function isOtherScheme(value: string): boolean {
  const scheme = SCHEME.exec(value.length > 64 ? value.slice(0, 64) : value)?.[0];
  return scheme !== undefined && scheme.toLowerCase() !== 'bearer';
}

/**
 * Every Authorization value of a Node request, read from `IncomingMessage.rawHeaders`.
 * Node keeps only the first copy in `req.headers.authorization`, so a request carrying two
 * would otherwise pass unnoticed; the contract refuses it.
 */
export function authorizationFromRawHeaders(rawHeaders: readonly string[]): AuthorizationInput {
  let first: string | undefined;
  let all: string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    const value = rawHeaders[i + 1]!;
    if (first === undefined) first = value;
    else if (all === undefined) all = [first, value];
    else all.push(value);
  }
  return all ?? first;
}
