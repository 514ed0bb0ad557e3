import type { ContractKeys } from './fixtures.js';
import {
  OTHER_WORKSPACE,
  READ_WRITE_RATE,
  REALM,
  THROTTLED_ADDRESS,
  WORKSPACE,
} from './fixtures.js';
import type { RawResponse } from './http.js';
import { send } from './http.js';

/** A request of the table: which key to send, and how. */
export interface ContractRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  /** The Authorization value(s); a list sends several header lines. */
  readonly authorization?: (keys: ContractKeys) => string | string[];
  /** Sent over plain HTTP: no `X-Forwarded-Proto: https` from the trusted proxy. */
  readonly plainHttp?: boolean;
  /** The client address the trusted proxy reports (X-Forwarded-For). */
  readonly forwardedFor?: string;
}

/**
 * Sends a row's request to an app of the table: its key(s) in Authorization, through the
 * trusted loopback proxy (`X-Forwarded-Proto: https`) unless the row is plain HTTP.
 */
export function sendContractRequest(
  baseUrl: string,
  request: ContractRequest,
  keys: ContractKeys,
): Promise<RawResponse> {
  const authorization = request.authorization?.(keys);
  const headers: Record<string, string | string[]> = {};
  if (authorization !== undefined) headers.Authorization = authorization;
  if (!request.plainHttp) headers['X-Forwarded-Proto'] = 'https';
  if (request.forwardedFor !== undefined) headers['X-Forwarded-For'] = request.forwardedFor;
  return send(baseUrl, {
    path: request.path,
    headers,
    ...(request.method === undefined ? {} : { method: request.method }),
  });
}

/** The key id in a row's Authorization value, opaque (`ork_…`) or signed (`orks_…`). */
export function keyIdOf(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  return /\borks?_(?:live|test)_([0-9A-Za-z]{12})_/.exec(authorization)?.[1];
}

export interface ContractExpectation {
  readonly status: number;
  /** The problem `code`; absent for admitted requests. */
  readonly code?: string;
  /** Exact `WWW-Authenticate` value, or `null` for none. */
  readonly wwwAuthenticate?: string | null;
  /** Exact `Retry-After` value, or `null` for none. */
  readonly retryAfter?: string | null;
  /** For admitted requests: the scope of the key that got in. */
  readonly scope?: string;
  /** Exact `RateLimit-Policy` value, or `null` for none. */
  readonly rateLimitPolicy?: string | null;
  /** `RateLimit` value (a pattern when it depends on earlier rows), or `null` for none. */
  readonly rateLimit?: string | RegExp | null;
  /**
   * Every hook the request fires, in order, the same on every adapter: `authenticated KEY`,
   * `rejected <code> KEY` (`rejected <code> KEY proven KEY` when the event carries the key,
   * proven before the refusal), `error <operation> KEY`, `insecure KEY`, where `KEY` is the id
   * of the row's key and `-` stands for no key id.
   */
  readonly hooks: readonly string[];
  /** Whether the row's key counts as used: its last-used time is written to the store. */
  readonly lastUsed: boolean;
}

export interface ContractCase {
  readonly name: string;
  readonly request: ContractRequest;
  readonly expect: ContractExpectation;
}

const bare = `Bearer realm="${REALM}"`;
const invalidRequest = `${bare}, error="invalid_request"`;
const invalidToken = `${bare}, error="invalid_token"`;
const insufficient = (scope: string) => `${bare}, error="insufficient_scope", scope="${scope}"`;

/** Hooks of a request refused before its key was proven: `onRejected` only. */
const rejectedOnly = (code: string, withKeyId: boolean) => ({
  hooks: [`rejected ${code} ${withKeyId ? 'KEY' : '-'}`],
  lastUsed: false,
});

/** Hooks of a request whose key was proven, then refused: authenticated, rejected; a use. */
const provenThenRejected = (code: string) => ({
  hooks: ['authenticated KEY', `rejected ${code} KEY proven KEY`],
  lastUsed: true,
});

/** `malformed_authorization_header` with the given challenge. */
const refusedHeader =
  (challenge: string) =>
  (name: string, authorization: (keys: ContractKeys) => string | string[]): ContractCase => ({
    name,
    request: { path: '/read', authorization },
    expect: {
      status: 401,
      code: 'malformed_authorization_header',
      wwwAuthenticate: challenge,
      retryAfter: null,
      ...rejectedOnly('malformed_authorization_header', false),
    },
  });

/** A broken Bearer header (or none usable): `error="invalid_request"`. */
const malformed = refusedHeader(invalidRequest);

/** A header of another scheme: no credentials of ours, so a bare challenge (RFC 6750 §3.1). */
const otherScheme = refusedHeader(bare);

/** `invalid_api_key`; `withKeyId` when the token got as far as a well-formed key id. */
const invalid = (
  name: string,
  authorization: (keys: ContractKeys) => string | string[],
  withKeyId = false,
): ContractCase => ({
  name,
  request: { path: '/read', authorization },
  expect: {
    status: 401,
    code: 'invalid_api_key',
    wwwAuthenticate: invalidToken,
    retryAfter: null,
    ...rejectedOnly('invalid_api_key', withKeyId),
  },
});

const admitted = (name: string, request: ContractRequest, scope: string): ContractCase => ({
  name,
  request,
  expect: { status: 200, scope, hooks: ['authenticated KEY'], lastUsed: true },
});

type Authorization = (keys: ContractKeys) => string;

/** A refusal at the status step (`api_key_revoked`, `api_key_expired`): 401 with invalid_token. */
const refused = (
  name: string,
  code: 'api_key_revoked' | 'api_key_expired',
  authorization: Authorization,
): ContractCase => ({
  name,
  request: { path: '/read', authorization },
  expect: {
    status: 401,
    code,
    wwwAuthenticate: invalidToken,
    retryAfter: null,
    ...rejectedOnly(code, true),
  },
});

const storeFails = (name: string, authorization: Authorization): ContractCase => ({
  name,
  request: { path: '/read', authorization },
  expect: {
    status: 503,
    code: 'auth_unavailable',
    wwwAuthenticate: null,
    retryAfter: '7',
    hooks: ['error lookup KEY', 'rejected auth_unavailable KEY'],
    lastUsed: false,
  },
});

const workspaceMismatch = (name: string, authorization: Authorization): ContractCase => ({
  name,
  request: { path: `/workspaces/${OTHER_WORKSPACE}/read`, authorization },
  expect: {
    status: 403,
    code: 'workspace_mismatch',
    wwwAuthenticate: null,
    retryAfter: null,
    ...provenThenRejected('workspace_mismatch'),
  },
});

/** A key whose own rate (1 an hour) its one request has used. */
const overItsRate = (name: string, authorization: Authorization): ContractCase => ({
  name,
  request: { path: '/read', authorization },
  expect: {
    status: 429,
    code: 'rate_limit_exceeded',
    wwwAuthenticate: null,
    retryAfter: '3600',
    rateLimitPolicy: '"key";q=1;w=3600',
    rateLimit: '"key";r=0;t=3600',
    ...provenThenRejected('rate_limit_exceeded'),
  },
});

/** A read-write key, admitted under its scope's rate, with the RateLimit fields. */
const withRateFields = (name: string, authorization: Authorization): ContractCase => ({
  name,
  request: { path: '/read', authorization },
  expect: {
    status: 200,
    scope: 'read-write',
    ...readWriteRateFields,
    hooks: ['authenticated KEY'],
    lastUsed: true,
  },
});

/** The RateLimit fields of a read-write key (its scope has a rate), or none for other keys. */
const readWriteRateFields = {
  rateLimitPolicy: `"read-write";q=${READ_WRITE_RATE.limit};w=${READ_WRITE_RATE.windowSeconds}`,
  rateLimit: /^"read-write";r=\d+;t=\d+$/,
} as const;
const noRateFields = { rateLimitPolicy: null, rateLimit: null } as const;

/**
 * A key refused by the scope step, which runs after the rate step: a key whose scope has a rate
 * has used one request of it, and the refusal carries its RateLimit fields as an admission would.
 */
const belowScope = (
  name: string,
  request: ContractRequest,
  scope: 'read-write' | 'admin',
  rateFields: typeof readWriteRateFields | typeof noRateFields,
): ContractCase => ({
  name,
  request,
  expect: {
    status: 403,
    code: 'insufficient_scope',
    wwwAuthenticate: insufficient(scope),
    ...rateFields,
    ...provenThenRejected('insufficient_scope'),
  },
});

/**
 * The behaviour contract of DESIGN.md as rows. Every adapter must answer every row with the
 * same status, `code`, `WWW-Authenticate` and `Retry-After`.
 */
export const CONTRACT_CASES: readonly ContractCase[] = [
  // transport
  {
    name: 'plain HTTP with a valid key is refused before the key is read',
    request: { path: '/read', authorization: (k) => `Bearer ${k.readOnly}`, plainHttp: true },
    expect: {
      status: 403,
      code: 'https_required',
      wwwAuthenticate: null,
      retryAfter: null,
      // The key crossed the network in the clear: reported, after the refusal.
      hooks: ['rejected https_required -', 'insecure KEY'],
      lastUsed: false,
    },
  },
  {
    name: 'plain HTTP without any key is refused for transport first',
    request: { path: '/read', plainHttp: true },
    expect: {
      status: 403,
      code: 'https_required',
      wwwAuthenticate: null,
      ...rejectedOnly('https_required', false),
    },
  },
  // extract
  {
    name: 'no Authorization header',
    request: { path: '/read' },
    expect: {
      status: 401,
      code: 'missing_api_key',
      wwwAuthenticate: bare,
      retryAfter: null,
      ...rejectedOnly('missing_api_key', false),
    },
  },
  {
    name: 'a key sent only in the query string is ignored',
    request: { path: '/read?api_key=ork_live_000000000000_00000000000000000000000000000000000000' },
    expect: {
      status: 401,
      code: 'missing_api_key',
      wwwAuthenticate: bare,
      ...rejectedOnly('missing_api_key', false),
    },
  },
  malformed('empty Authorization header', () => ''),
  malformed('"Bearer" with nothing after it', () => 'Bearer'),
  malformed('"Bearer" and spaces only', () => 'Bearer    '),
  otherScheme(
    'Basic scheme',
    (k) => `Basic ${Buffer.from(`user:${k.readOnly}`).toString('base64')}`,
  ),
  otherScheme('Token scheme', (k) => `Token ${k.readOnly}`),
  otherScheme('"Bearerx" scheme', (k) => `Bearerx ${k.readOnly}`),
  otherScheme('"XBearer" scheme', (k) => `XBearer ${k.readOnly}`),
  otherScheme('"Bearer2" scheme', (k) => `Bearer2 ${k.readOnly}`),
  otherScheme(
    'another scheme, longer than the header may be',
    (k) => `Basic ${k.readOnly}${'A'.repeat(6_000)}`,
  ),
  otherScheme('no space after the scheme', (k) => `Bearer${k.readOnly}`),
  malformed('a tab after the scheme', (k) => `Bearer\t${k.readOnly}`),
  malformed(
    'characters outside b64token',
    (k) => `Bearer ${k.readOnly.slice(0, 30)}!${k.readOnly.slice(31)}`,
  ),
  malformed(
    'a space inside the token',
    (k) => `Bearer ${k.readOnly.slice(0, 30)} ${k.readOnly.slice(30)}`,
  ),
  malformed(
    '"=" inside the token rather than at its end',
    (k) => `Bearer ${k.readOnly.slice(0, 30)}=${k.readOnly.slice(30)}`,
  ),
  malformed(
    'non-ASCII characters',
    (k) => `Bearer ${k.readOnly.slice(0, 30)}\u00e9${k.readOnly.slice(31)}`,
  ),
  malformed('a header of several kilobytes', (k) => `Bearer ${k.readOnly}${'A'.repeat(6_000)}`),
  malformed('two Authorization headers', (k) => [`Bearer ${k.readOnly}`, `Bearer ${k.readOnly}`]),
  malformed('two Authorization headers, the second empty', (k) => [`Bearer ${k.readOnly}`, '']),
  // accepted spellings of the scheme
  admitted(
    'scheme in lower case',
    { path: '/read', authorization: (k) => `bearer ${k.readOnly}` },
    'read-only',
  ),
  admitted(
    'scheme in upper case',
    { path: '/read', authorization: (k) => `BEARER ${k.readOnly}` },
    'read-only',
  ),
  admitted(
    'scheme in mixed case',
    { path: '/read', authorization: (k) => `bEaReR ${k.readOnly}` },
    'read-only',
  ),
  admitted(
    'several spaces after the scheme (RFC 7235 1*SP)',
    { path: '/read', authorization: (k) => `Bearer   ${k.readOnly}` },
    'read-only',
  ),
  // throttle
  {
    name: 'an address over its failed attempts is refused before the key is read',
    request: {
      path: '/read',
      authorization: (k) => `Bearer ${k.unknownId}`,
      forwardedFor: THROTTLED_ADDRESS,
    },
    expect: {
      status: 429,
      code: 'too_many_failed_attempts',
      wwwAuthenticate: null,
      retryAfter: '6',
      rateLimitPolicy: null,
      ...rejectedOnly('too_many_failed_attempts', false),
    },
  },
  admitted(
    'a key this instance verified before passes that address: no lookup, no guess',
    {
      path: '/read',
      authorization: (k) => `Bearer ${k.readOnly}`,
      forwardedFor: THROTTLED_ADDRESS,
    },
    'read-only',
  ),
  admitted(
    'another address is not held back by it',
    { path: '/read', authorization: (k) => `Bearer ${k.readOnly}`, forwardedFor: '203.0.113.51' },
    'read-only',
  ),
  // format
  invalid('checksum wrong', (k) => `Bearer ${k.badChecksum}`),
  invalid('padding "=" after a valid key', (k) => `Bearer ${k.readOnly}==`),
  invalid('valid key of another environment', (k) => `Bearer ${k.otherEnvironment}`),
  invalid('random b64token', () => 'Bearer dGhpcyBpcyBub3QgYSBrZXk='),
  invalid('wrong prefix', (k) => `Bearer orq${k.readOnly.slice(3)}`),
  invalid('a key cut short', (k) => `Bearer ${k.readOnly.slice(0, -1)}`),
  // lookup
  invalid('unknown key id', (k) => `Bearer ${k.unknownId}`, true),
  invalid('right id, wrong secret', (k) => `Bearer ${k.wrongSecret}`, true),
  storeFails('the store fails: fail closed with 503', (k) => `Bearer ${k.storeFails}`),
  // status
  refused('revoked key', 'api_key_revoked', (k) => `Bearer ${k.revoked}`),
  refused('expired key', 'api_key_expired', (k) => `Bearer ${k.expired}`),
  // workspace
  admitted(
    "the route's workspace is the key's",
    { path: `/workspaces/${WORKSPACE}/read`, authorization: (k) => `Bearer ${k.readOnly}` },
    'read-only',
  ),
  workspaceMismatch("the route's workspace is not the key's", (k) => `Bearer ${k.admin}`),
  // rate
  overItsRate('a key over its own rate', (k) => `Bearer ${k.rateLimited}`),
  withRateFields(
    'an admitted key with a rate carries the RateLimit fields',
    (k) => `Bearer ${k.readWrite}`,
  ),
  {
    name: 'an admitted key without a rate carries none',
    request: { path: '/read', authorization: (k) => `Bearer ${k.readOnly}` },
    expect: {
      status: 200,
      scope: 'read-only',
      rateLimitPolicy: null,
      rateLimit: null,
      hooks: ['authenticated KEY'],
      lastUsed: true,
    },
  },
  // scope
  belowScope(
    'read-only key on a read-write route',
    { method: 'POST', path: '/write', authorization: (k) => `Bearer ${k.readOnly}` },
    'read-write',
    noRateFields,
  ),
  belowScope(
    'read-write key on an admin route',
    { path: '/admin', authorization: (k) => `Bearer ${k.readWrite}` },
    'admin',
    readWriteRateFields,
  ),
  admitted(
    'read-only key on a read-only route',
    { path: '/read', authorization: (k) => `Bearer ${k.readOnly}` },
    'read-only',
  ),
  admitted(
    'read-write key on a read-write route',
    { method: 'POST', path: '/write', authorization: (k) => `Bearer ${k.readWrite}` },
    'read-write',
  ),
  admitted(
    'admin key on a read-write route',
    { method: 'POST', path: '/write', authorization: (k) => `Bearer ${k.admin}` },
    'admin',
  ),
  admitted(
    'admin key on an admin route',
    { path: '/admin', authorization: (k) => `Bearer ${k.admin}` },
    'admin',
  ),
  admitted(
    'read-write key on a read-only route',
    { path: '/read', authorization: (k) => `Bearer ${k.readWrite}` },
    'read-write',
  ),

  // Signed keys (orks_…): the same steps, the same answers.
  admitted(
    'signed: read-only key on a read-only route',
    { path: '/read', authorization: (k) => `Bearer ${k.signed.readOnly}` },
    'read-only',
  ),
  admitted(
    'signed: admin key on a read-write route',
    { method: 'POST', path: '/write', authorization: (k) => `Bearer ${k.signed.admin}` },
    'admin',
  ),
  admitted(
    'signed: scheme in lower case',
    { path: '/read', authorization: (k) => `bearer ${k.signed.readOnly}` },
    'read-only',
  ),
  admitted(
    'signed: a key signed by the previous signing key, still in the JWKS',
    { path: '/read', authorization: (k) => `Bearer ${k.signed.previousSigningKey}` },
    'read-only',
  ),
  admitted(
    'signed: nbf is exactly now (the boundary, clock injected)',
    { path: '/read', authorization: (k) => `Bearer ${k.signed.validFromNow}` },
    'read-only',
  ),
  admitted(
    'signed: one second before its expiry',
    { path: '/admin', authorization: (k) => `Bearer ${k.signed.expiresNextSecond}` },
    'admin',
  ),
  malformed(
    'signed: longer than the Authorization header may be',
    (k) => `Bearer ${k.signed.oversized}`,
  ),
  invalid('signed: alg none, no signature', (k) => `Bearer ${k.signed.algNone}`),
  invalid(
    'signed: HS256 keyed with the public key (algorithm confusion)',
    (k) => `Bearer ${k.signed.algorithmConfusion}`,
  ),
  invalid('signed: a kid the JWKS does not have', (k) => `Bearer ${k.signed.unknownKid}`),
  invalid(
    'signed: a tampered payload (scope raised), signature kept',
    (k) => `Bearer ${k.signed.tamperedPayload}`,
  ),
  invalid('signed: another issuer', (k) => `Bearer ${k.signed.wrongIssuer}`),
  invalid('signed: another audience', (k) => `Bearer ${k.signed.wrongAudience}`),
  invalid(
    'signed: not yet valid, nbf one second ahead (clock injected)',
    (k) => `Bearer ${k.signed.notYetValid}`,
  ),
  invalid(
    "signed: another key's id in the prefix of a valid JWS",
    (k) => `Bearer ${k.signed.swappedPrefix}`,
  ),
  invalid('signed: valid key of another environment', (k) => `Bearer ${k.signed.otherEnvironment}`),
  storeFails(
    'signed: the store fails: fail closed with 503',
    (k) => `Bearer ${k.signed.storeFails}`,
  ),
  refused('signed: revoked in the store', 'api_key_revoked', (k) => `Bearer ${k.signed.revoked}`),
  refused(
    'signed: expired at this very instant (exp is now, clock injected)',
    'api_key_expired',
    (k) => `Bearer ${k.signed.expired}`,
  ),
  workspaceMismatch(
    "signed: the route's workspace is not the key's",
    (k) => `Bearer ${k.signed.admin}`,
  ),
  admitted(
    "signed: the route's workspace is the key's",
    { path: `/workspaces/${WORKSPACE}/read`, authorization: (k) => `Bearer ${k.signed.readOnly}` },
    'read-only',
  ),
  overItsRate('signed: a key over its own rate', (k) => `Bearer ${k.signed.rateLimited}`),
  withRateFields(
    'signed: an admitted key with a rate carries the RateLimit fields',
    (k) => `Bearer ${k.signed.readWrite}`,
  ),
  belowScope(
    'signed: read-only key on a read-write route',
    { method: 'POST', path: '/write', authorization: (k) => `Bearer ${k.signed.readOnly}` },
    'read-write',
    noRateFields,
  ),
];
