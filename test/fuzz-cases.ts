import type { Scope } from '@orkesta/auth';
import {
  createKeyManager,
  generateApiKey,
  KEY_LENGTH,
  keyChecksum,
  MemoryKeyStore,
} from '@orkesta/auth';
import fc from 'fast-check';
import type { HeaderLine, RawRequest } from './raw-http.js';

/**
 * Generated requests for the fuzz suite, and the oracle that says what the contract answers to
 * each. The oracle is written from the README's error contract, not from the source: it models
 * what Node's HTTP parser hands the app (a field value without surrounding spaces and tabs)
 * and then the contract's steps in order.
 */

export const FUZZ_WORKSPACE = 'ws_fuzz';
export const FUZZ_NOW = Date.parse('2026-11-27T12:00:00Z');

/** The bytes an HTTP/1.1 field value may hold (HTAB, SP, VCHAR, obs-text); Node's parser refuses the rest. */
export const FIELD_VALUE_BYTES: readonly number[] = [
  0x09,
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i),
  ...Array.from({ length: 0x100 - 0x80 }, (_, i) => 0x80 + i),
];
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const B64TOKEN_EXTRA = '-._~+/';

export interface FuzzKey {
  readonly token: string;
  readonly id: string;
  readonly scope: Scope;
  readonly state: 'active' | 'revoked' | 'expired';
}

export interface FuzzKeys {
  /** Every issued key, in every state. */
  readonly all: readonly FuzzKey[];
  readonly byToken: ReadonlyMap<string, FuzzKey>;
  /** Plaintexts and secret parts: no answer may contain one. */
  readonly secrets: readonly string[];
}

/** Issues the keys the fuzz suite mutates: active ones of each scope and environment, a revoked and an expired one. */
export async function issueFuzzKeys(): Promise<{ store: MemoryKeyStore; keys: FuzzKeys }> {
  let now = FUZZ_NOW - 60_000;
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store, now: () => now });
  const all: FuzzKey[] = [];
  const issue = async (
    scope: Scope,
    state: FuzzKey['state'],
    environment: 'live' | 'test' = 'live',
  ) => {
    const issued = await manager.create({
      workspaceId: FUZZ_WORKSPACE,
      name: `fuzz-${scope}-${state}`,
      scope,
      environment,
      ...(state === 'expired' ? { expiresAt: FUZZ_NOW - 1_000 } : {}),
    });
    if (state === 'revoked') await manager.revoke(issued.record.id);
    all.push({ token: issued.key, id: issued.record.id, scope, state });
  };
  await issue('read-only', 'active');
  await issue('read-write', 'active');
  await issue('admin', 'active');
  await issue('read-write', 'active', 'test');
  await issue('admin', 'revoked');
  await issue('admin', 'expired');
  now = FUZZ_NOW;
  const keys: FuzzKeys = {
    all,
    byToken: new Map(all.map((key) => [key.token, key])),
    secrets: all.flatMap((key) => [key.token, key.token.slice(22, 54)]),
  };
  return { store, keys };
}

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly scope: Scope;
  /** The workspace the route names, if it names one. */
  readonly workspace?: string;
}

const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/read', scope: 'read-only' },
  { method: 'POST', path: '/write', scope: 'read-write' },
  { method: 'GET', path: '/admin', scope: 'admin' },
  {
    method: 'GET',
    path: `/workspaces/${FUZZ_WORKSPACE}/read`,
    scope: 'read-only',
    workspace: FUZZ_WORKSPACE,
  },
  { method: 'GET', path: '/workspaces/ws_other/read', scope: 'read-only', workspace: 'ws_other' },
];

/** One generated request: its route, its transport, and its header lines as latin1 strings. */
export interface FuzzCase {
  readonly route: Route;
  /** Sent through the trusted loopback proxy with `X-Forwarded-Proto: https`. */
  readonly secure: boolean;
  /** Authorization lines: the name as spelled, the value as latin1 (one char per byte). */
  readonly authorization: readonly (readonly [name: string, value: string])[];
  /** Other lines that carry a key where the contract does not look for one. */
  readonly decoys: readonly (readonly [name: string, value: string])[];
  /** A query string carrying a key, which must be ignored. */
  readonly query: string;
}

export type Expected =
  | { readonly status: 200; readonly keyId: string }
  | {
      readonly status: 401 | 403;
      readonly code: string;
      /** The exact `WWW-Authenticate` value, or `null` for none (realm "api"). */
      readonly challenge: string | null;
    };

const BARE = 'Bearer realm="api"';
const INVALID_REQUEST = `${BARE}, error="invalid_request"`;
const INVALID_TOKEN = `${BARE}, error="invalid_token"`;

const SCOPE_RANK: Readonly<Record<Scope, number>> = { 'read-only': 0, 'read-write': 1, admin: 2 };

/** The answer the README's error contract gives to `fuzzCase`, step by step. */
export function expectedAnswer(fuzzCase: FuzzCase, keys: FuzzKeys): Expected {
  if (!fuzzCase.secure) return { status: 403, code: 'https_required', challenge: null };
  const lines = fuzzCase.authorization;
  if (lines.length === 0) return { status: 401, code: 'missing_api_key', challenge: BARE };
  const token = soleBearerToken(fuzzCase);
  if (token === undefined) {
    // RFC 6750 §3.1: a header of another scheme carries no credentials of ours, so its
    // challenge has no error code; a broken Bearer header (or several headers) has one.
    const other = lines.length === 1 && namesOtherScheme(parsedFieldValue(lines[0]![1]));
    return {
      status: 401,
      code: 'malformed_authorization_header',
      challenge: other ? BARE : INVALID_REQUEST,
    };
  }
  const key = keys.byToken.get(token);
  if (key === undefined) return { status: 401, code: 'invalid_api_key', challenge: INVALID_TOKEN };
  if (key.state === 'revoked') {
    return { status: 401, code: 'api_key_revoked', challenge: INVALID_TOKEN };
  }
  if (key.state === 'expired') {
    return { status: 401, code: 'api_key_expired', challenge: INVALID_TOKEN };
  }
  const { route } = fuzzCase;
  if (route.workspace !== undefined && route.workspace !== FUZZ_WORKSPACE) {
    return { status: 403, code: 'workspace_mismatch', challenge: null };
  }
  if (SCOPE_RANK[key.scope] < SCOPE_RANK[route.scope]) {
    return {
      status: 403,
      code: 'insufficient_scope',
      challenge: `${BARE}, error="insufficient_scope", scope="${route.scope}"`,
    };
  }
  return { status: 200, keyId: key.id };
}

/**
 * The issued key a plain-HTTP request gives away, which `onInsecureKey` must report: whatever
 * its state, since its secret crossed the network all the same. `undefined` over HTTPS, and for
 * anything but one well-formed header carrying exactly an issued key.
 */
export function exposedKey(fuzzCase: FuzzCase, keys: FuzzKeys): FuzzKey | undefined {
  if (fuzzCase.secure) return undefined;
  const token = soleBearerToken(fuzzCase);
  return token === undefined ? undefined : keys.byToken.get(token);
}

/**
 * Whether the request's key is proven, which fires `onAuthenticated` whatever the route then
 * decides: an issued, active key in one well-formed Bearer header over HTTPS.
 */
export function provesKey(fuzzCase: FuzzCase, keys: FuzzKeys): boolean {
  if (!fuzzCase.secure) return false;
  const token = soleBearerToken(fuzzCase);
  return token !== undefined && keys.byToken.get(token)?.state === 'active';
}

/** RFC 7230 tchar: the characters of an auth-scheme. */
const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Whether a field value starts with an auth-scheme (RFC 7235 §2.1) other than Bearer. */
function namesOtherScheme(value: string): boolean {
  let end = 0;
  while (end < value.length && TCHAR.includes(value[end]!)) end++;
  return end > 0 && value.slice(0, end).toLowerCase() !== 'bearer';
}

/** The token of the one well-formed `Authorization: Bearer` line; `undefined` for anything else. */
function soleBearerToken(fuzzCase: FuzzCase): string | undefined {
  const lines = fuzzCase.authorization;
  if (lines.length !== 1) return undefined;
  const value = parsedFieldValue(lines[0]![1]);
  if (value.length === 0 || value.length > 1024) return undefined;
  return bearerToken(value);
}

/** What Node's parser hands the app: the value without leading or trailing SP and HTAB. */
function parsedFieldValue(raw: string): string {
  let start = 0;
  let end = raw.length;
  while (start < end && (raw[start] === ' ' || raw[start] === '\t')) start++;
  while (end > start && (raw[end - 1] === ' ' || raw[end - 1] === '\t')) end--;
  return raw.slice(start, end);
}

/**
 * RFC 6750 §2.1 read by hand: "Bearer" in any ASCII case, one or more spaces, then a b64token
 * (letters, digits, `-._~+/`, then any number of `=`). `undefined` for anything else.
 */
function bearerToken(value: string): string | undefined {
  const scheme = 'bearer';
  for (let i = 0; i < scheme.length; i++) {
    const c = value.charCodeAt(i);
    const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    if (lower !== scheme.charCodeAt(i)) return undefined;
  }
  let at = scheme.length;
  if (value[at] !== ' ') return undefined;
  while (value[at] === ' ') at++;
  const token = value.slice(at);
  let end = token.length;
  while (end > 0 && token[end - 1] === '=') end--;
  if (end === 0) return undefined;
  for (let i = 0; i < end; i++) {
    if (!BASE62.includes(token[i]!) && !B64TOKEN_EXTRA.includes(token[i]!)) return undefined;
  }
  return token;
}

/** The request on the wire. `secure` requests come through the trusted loopback proxy. */
export function toRawRequest(fuzzCase: FuzzCase): RawRequest {
  const headers: HeaderLine[] = [];
  if (fuzzCase.secure) headers.push(['X-Forwarded-Proto', Buffer.from('https')]);
  for (const [name, value] of [...fuzzCase.decoys, ...fuzzCase.authorization]) {
    headers.push([name, Buffer.from(value, 'latin1')]);
  }
  return {
    method: fuzzCase.route.method,
    path: fuzzCase.route.path + fuzzCase.query,
    headers,
  };
}

/** Whether every value is one Node's parser accepts (a generator bug would otherwise show as a 400). */
export function isSendable(fuzzCase: FuzzCase): boolean {
  return [...fuzzCase.authorization, ...fuzzCase.decoys].every(([, value]) =>
    FIELD_VALUE.test(value),
  );
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/**
 * A string of `minLength` to `maxLength` characters drawn from `alphabet`. fast-check draws a
 * length and a seed, and a xorshift generator spells the string out: as reproducible from the
 * run's seed as a string of per-character arbitraries, and far cheaper for the thousands of
 * characters a huge value holds (failures are reported whole, not shrunk).
 */
function seededString(
  alphabet: string,
  minLength: number,
  maxLength: number,
): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer({ min: 1, max: 0x7fffffff }))
    .map(([length, seed]) => {
      let x = seed;
      let out = '';
      for (let i = 0; i < length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out += alphabet[(x >>> 0) % alphabet.length];
      }
      return out;
    });
}

const FIELD_CHARS = String.fromCharCode(...FIELD_VALUE_BYTES);
const B64TOKEN = BASE62 + B64TOKEN_EXTRA;

/** Any field-value byte, as a latin1 character. */
const fieldChar = fc.constantFrom(...FIELD_CHARS);
const b64Char = fc.constantFrom(...B64TOKEN);
const base62 = (min: number, max: number) => seededString(BASE62, min, max);
const b64 = (min: number, max: number) => seededString(B64TOKEN, min, max);

/** Random bytes from the field-value set (the only bytes Node's parser lets through). */
const randomBytes = (maxLength: number) => seededString(FIELD_CHARS, 0, maxLength);

/** Tokens that come close to a key: one part of the format wrong, or every part right but the key unknown. */
function nearMissKey(keys: FuzzKeys): fc.Arbitrary<string> {
  const known = fc.constantFrom(...keys.all);
  const body = fc
    .record({
      prefix: fc.constantFrom('ork', 'ork', 'ork', 'ORK', 'orq', 'or', 'ork_', 'Ork'),
      env: fc.constantFrom('live', 'test', 'live', 'prod', 'LIVE', 'liv', 'tests', ''),
      id: fc.oneof(
        { arbitrary: base62(12, 12), weight: 6 },
        { arbitrary: base62(11, 13), weight: 1 },
        { arbitrary: b64(12, 12), weight: 1 },
        { arbitrary: known.map((k) => k.id), weight: 3 },
      ),
      sep: fc.constantFrom('_', '_', '_', '-', '', '__', '.'),
      secret: fc.oneof(
        { arbitrary: base62(32, 32), weight: 6 },
        { arbitrary: base62(31, 33), weight: 1 },
        { arbitrary: b64(32, 32), weight: 1 },
      ),
    })
    .map(({ prefix, env, id, sep, secret }) => `${prefix}_${env}_${id}${sep}${secret}`);
  return fc
    .tuple(body, fc.constantFrom('right', 'right', 'right', 'wrong', 'none', 'short'), base62(6, 6))
    .map(([b, checksum, other]) => {
      if (checksum === 'right') return b + keyChecksum(b);
      if (checksum === 'wrong') return b + other;
      if (checksum === 'short') return b + keyChecksum(b).slice(1);
      return b;
    });
}

type Mutation =
  | { kind: 'replace' | 'insert'; at: number; char: string }
  | { kind: 'delete' | 'swap' | 'flip-case' | 'truncate'; at: number }
  | { kind: 'append' | 'prepend'; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('replace' as const, 'insert' as const),
    at: fc.nat({ max: KEY_LENGTH }),
    char: fc.oneof({ arbitrary: b64Char, weight: 4 }, { arbitrary: fieldChar, weight: 1 }),
  }),
  fc.record({
    kind: fc.constantFrom(
      'delete' as const,
      'swap' as const,
      'flip-case' as const,
      'truncate' as const,
    ),
    at: fc.nat({ max: KEY_LENGTH }),
  }),
  fc.record({
    kind: fc.constantFrom('append' as const, 'prepend' as const),
    text: fc.oneof(b64(0, 8), fc.constantFrom('=', '==', ' ', '\t', ',', ';', '"', ' x')),
  }),
);

function mutate(token: string, m: Mutation): string {
  switch (m.kind) {
    case 'replace':
      return token.slice(0, m.at) + m.char + token.slice(m.at + 1);
    case 'insert':
      return token.slice(0, m.at) + m.char + token.slice(m.at);
    case 'delete':
      return token.slice(0, m.at) + token.slice(m.at + 1);
    case 'swap':
      return m.at + 1 < token.length
        ? token.slice(0, m.at) + token[m.at + 1] + token[m.at] + token.slice(m.at + 2)
        : token;
    case 'flip-case': {
      // ASCII letters only: Unicode case maps leave Latin-1 (ÿ → Ÿ U+0178, µ → Μ), and a header
      // value must stay in the bytes HTTP can carry.
      const c = token.charAt(m.at);
      if (!/^[A-Za-z]$/.test(c)) return token;
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return token.slice(0, m.at) + flipped + token.slice(m.at + 1);
    }
    case 'truncate':
      return token.slice(0, m.at);
    case 'append':
      return token + m.text;
    case 'prepend':
      return m.text + token;
  }
}

/** A key issued to the fuzz store with one to three edits (which may, by chance, undo each other). */
function mutatedKey(keys: FuzzKeys): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...keys.all), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([key, edits]) => edits.reduce(mutate, key.token));
}

/** What may follow the scheme: a token of any kind. */
function token(keys: FuzzKeys): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...keys.all.map((k) => k.token)), weight: 3 },
    { arbitrary: nearMissKey(keys), weight: 4 },
    { arbitrary: mutatedKey(keys), weight: 6 },
    { arbitrary: b64(1, 80), weight: 2 },
    { arbitrary: fc.constant(generateApiKey().token), weight: 1 },
    { arbitrary: randomBytes(80), weight: 2 },
  );
}

const scheme = fc.oneof(
  { arbitrary: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      'Bearer:',
      'Basic',
      'Token',
      'Bearerx',
      'Beare',
      'XBearer',
      'B\u00e9arer',
      'Bearer,',
      '',
      'Digest',
      'ApiKey',
    ),
    weight: 2,
  },
  { arbitrary: randomBytes(8), weight: 1 },
);

/** Between scheme and token: the one space of the grammar, more, tabs, none, a no-break space. */
const separator = fc.oneof(
  { arbitrary: fc.constant(' '), weight: 6 },
  {
    arbitrary: fc.constantFrom('  ', '   ', '\t', ' \t', '\t ', '', '\u00a0', ' \u00a0'),
    weight: 3,
  },
  { arbitrary: seededString(' \t', 1, 40), weight: 1 },
);

/** Around the whole value: the parser drops spaces and tabs there. */
const padding = fc.oneof(
  { arbitrary: fc.constant(''), weight: 6 },
  { arbitrary: seededString(' \t', 1, 6), weight: 2 },
);

/** One Authorization value of ordinary size. */
function headerValue(keys: FuzzKeys): fc.Arbitrary<string> {
  return fc.oneof(
    {
      arbitrary: fc
        .tuple(padding, scheme, separator, token(keys), padding)
        .map((parts) => parts.join('')),
      weight: 12,
    },
    { arbitrary: randomBytes(200), weight: 2 },
    {
      arbitrary: fc.constantFrom('', ' ', '\t', 'Bearer', 'Bearer ', 'Bearer =', 'Bearer =='),
      weight: 1,
    },
  );
}

/** Values around and far past the 1,024-character limit, kept under Node's 16 KiB of headers. */
function hugeValue(keys: FuzzKeys): fc.Arbitrary<string> {
  return fc.oneof(
    // Exactly at, just under and just over the limit.
    fc
      .tuple(fc.integer({ min: 1_020, max: 1_028 }), fc.constantFrom('A', '='))
      .map(([length, fill]) => `Bearer ${'A'.repeat(length - 8)}${fill}`.slice(0, length)),
    fc
      .tuple(fc.constantFrom(...keys.all.map((k) => k.token)), fc.integer({ min: 1, max: 12_000 }))
      .map(([key, extra]) => `Bearer ${key}${'A'.repeat(extra)}`),
    fc
      .tuple(
        fc.constantFrom(...keys.all.map((k) => k.token)),
        fc.integer({ min: 900, max: 11_000 }),
      )
      .map(([key, spaces]) => `Bearer${' '.repeat(spaces)}${key}`),
    randomBytes(12_000),
  );
}

const authorizationName = fc.constantFrom(
  'Authorization',
  'Authorization',
  'authorization',
  'AUTHORIZATION',
  'AuThOrIzAtIoN',
);

/** Header lines carrying a key where no key is looked for. */
function decoys(keys: FuzzKeys): fc.Arbitrary<readonly (readonly [string, string])[]> {
  const key = fc.constantFrom(...keys.all.filter((k) => k.state === 'active').map((k) => k.token));
  return fc.oneof(
    { arbitrary: fc.constant([]), weight: 8 },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'X-Api-Key',
            'Proxy-Authorization',
            'X-Authorization',
            'Cookie',
            'Authorisation',
          ),
          key,
        )
        .map(([name, k]) => [[name, name === 'Cookie' ? `api_key=${k}` : `Bearer ${k}`] as const]),
      weight: 1,
    },
  );
}

/** Every generated request: routes, transports, zero to four Authorization lines of every kind. */
export function fuzzCase(keys: FuzzKeys): fc.Arbitrary<FuzzCase> {
  const line = (value: fc.Arbitrary<string>) => fc.tuple(authorizationName, value);
  const ordinary = line(headerValue(keys));
  const authorization = fc.oneof(
    { arbitrary: fc.constant([]), weight: 1 },
    { arbitrary: fc.tuple(ordinary), weight: 14 },
    { arbitrary: fc.tuple(line(hugeValue(keys))), weight: 2 },
    { arbitrary: fc.array(ordinary, { minLength: 2, maxLength: 4 }), weight: 3 },
  );
  const activeKey = fc.constantFrom(...keys.all.map((k) => k.token));
  return fc.record({
    route: fc.constantFrom(...ROUTES),
    secure: fc.oneof(
      { arbitrary: fc.constant(true), weight: 24 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    authorization,
    decoys: decoys(keys),
    query: fc.oneof(
      { arbitrary: fc.constant(''), weight: 12 },
      { arbitrary: activeKey.map((k) => `?api_key=${k}`), weight: 1 },
    ),
  });
}
