import { describe, expect, it } from 'vitest';
import { ErrorRenderer, renderAuthError } from '../src/adapter.js';
import {
  type AnyAuthError,
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AuthError,
  AuthUnavailableError,
  ChangeFeedTimeoutError,
  ConfigurationError,
  HttpsRequiredError,
  InsufficientScopeError,
  InvalidApiKeyError,
  isAuthError,
  KeyManagementError,
  type KeyManagementErrorCode,
  MalformedAuthorizationHeaderError,
  MissingApiKeyError,
  PROBLEM_CONTENT_TYPE,
  renderProblem,
  StoreClosedError,
  StoredRecordError,
  StoreTimeoutError,
  WorkspaceMismatchError,
} from '../src/index.js';
import { quoteHeaderValue } from '../src/render.js';

const KEY_ID = 'AbCdEf012345';

const BARE = 'Bearer realm="api"';
const cases: [AnyAuthError, string, number, string | undefined][] = [
  [new HttpsRequiredError(), 'https_required', 403, undefined],
  [new MissingApiKeyError(), 'missing_api_key', 401, BARE],
  [
    new MalformedAuthorizationHeaderError(),
    'malformed_authorization_header',
    401,
    `${BARE}, error="invalid_request"`,
  ],
  [new InvalidApiKeyError(), 'invalid_api_key', 401, `${BARE}, error="invalid_token"`],
  [new InvalidApiKeyError(KEY_ID), 'invalid_api_key', 401, `${BARE}, error="invalid_token"`],
  [new ApiKeyRevokedError(KEY_ID), 'api_key_revoked', 401, `${BARE}, error="invalid_token"`],
  [new ApiKeyExpiredError(KEY_ID), 'api_key_expired', 401, `${BARE}, error="invalid_token"`],
  [new AuthUnavailableError(5, KEY_ID), 'auth_unavailable', 503, undefined],
  [new WorkspaceMismatchError(KEY_ID), 'workspace_mismatch', 403, undefined],
  [
    new InsufficientScopeError(KEY_ID, 'read-write'),
    'insufficient_scope',
    403,
    `${BARE}, error="insufficient_scope", scope="read-write"`,
  ],
];

describe('request-time errors', () => {
  it.each(cases)('%s has its code and status', (error, code, status) => {
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.statusCode).toBe(status);
    expect(error.expose).toBe(true);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toBeInstanceOf(Error);
    expect(isAuthError(error)).toBe(true);
    expect(error.name).toBe(error.constructor.name);
    expect(error.headers).toBeUndefined();
  });

  it('names the challenge each error carries', () => {
    expect(new HttpsRequiredError().challenge).toBeUndefined();
    expect(new MissingApiKeyError().challenge).toBe('bare');
    expect(new MalformedAuthorizationHeaderError().challenge).toBe('invalid_request');
    expect(new InvalidApiKeyError().challenge).toBe('invalid_token');
    expect(new ApiKeyRevokedError(KEY_ID).challenge).toBe('invalid_token');
    expect(new ApiKeyExpiredError(KEY_ID).challenge).toBe('invalid_token');
    expect(new AuthUnavailableError(1).challenge).toBeUndefined();
    expect(new WorkspaceMismatchError(KEY_ID).challenge).toBeUndefined();
    expect(new InsufficientScopeError(KEY_ID, 'admin').challenge).toBe('insufficient_scope');
  });

  it('carries the key id when there is one, and the retry delay of a 503', () => {
    expect(new InvalidApiKeyError().keyId).toBeUndefined();
    expect(new InvalidApiKeyError(KEY_ID).keyId).toBe(KEY_ID);
    expect(new ApiKeyRevokedError(KEY_ID).keyId).toBe(KEY_ID);
    expect(new AuthUnavailableError(7).retryAfterSeconds).toBe(7);
    expect(new AuthUnavailableError(7).keyId).toBeUndefined();
    expect(new InvalidApiKeyError(KEY_ID).retryAfterSeconds).toBeUndefined();
    expect(new InsufficientScopeError(KEY_ID, 'admin').requiredScope).toBe('admin');
  });

  it('serialises to name, code, status, message and key id', () => {
    const json = JSON.parse(JSON.stringify(new ApiKeyRevokedError(KEY_ID)));
    expect(json).toEqual({
      name: 'ApiKeyRevokedError',
      code: 'api_key_revoked',
      status: 401,
      message: expect.any(String),
      keyId: KEY_ID,
    });
    expect(new MissingApiKeyError().toJSON()).not.toHaveProperty('keyId');
    expect(new MissingApiKeyError().toJSON()).toMatchObject({
      name: 'MissingApiKeyError',
      code: 'missing_api_key',
      status: 401,
    });
  });

  it('is not confused with other errors', () => {
    expect(isAuthError(new Error('x'))).toBe(false);
    expect(isAuthError(new KeyManagementError('api_key_not_found', 'x'))).toBe(false);
    expect(isAuthError({ code: 'invalid_api_key', status: 401 })).toBe(false);
    expect(isAuthError(undefined)).toBe(false);
  });
});

describe('rendering', () => {
  it.each(cases)(
    '%s renders status, problem+json and its challenge',
    (error, code, status, www) => {
      const rendered = renderAuthError(error);
      expect(rendered.status).toBe(status);
      expect(rendered.headers['Content-Type']).toBe('application/problem+json');
      expect(rendered.headers['Cache-Control']).toBe('no-store');
      expect(rendered.headers['WWW-Authenticate']).toBe(www);
      expect(Object.hasOwn(rendered.headers, 'WWW-Authenticate')).toBe(www !== undefined);
      expect(rendered.body).toEqual({
        type: `urn:orkesta-auth:error:${code}`,
        title: error.title,
        status,
        detail: error.message,
        code,
      });
      expect(typeof rendered.body.title).toBe('string');
      expect(rendered.body.title.length).toBeGreaterThan(0);
      expect(rendered.body.detail.length).toBeGreaterThan(0);
    },
  );

  it('a renderer of its own realm gives each challenge with that realm', () => {
    const renderer = new ErrorRenderer({ realm: 'payments' });
    const challenge = (error: AnyAuthError) => renderer.render(error).headers['WWW-Authenticate'];
    const bare = 'Bearer realm="payments"';
    expect(challenge(new MissingApiKeyError())).toBe(bare);
    expect(challenge(new MalformedAuthorizationHeaderError())).toBe(
      `${bare}, error="invalid_request"`,
    );
    expect(challenge(new InvalidApiKeyError())).toBe(`${bare}, error="invalid_token"`);
    expect(challenge(new InsufficientScopeError(KEY_ID, 'admin'))).toBe(
      `${bare}, error="insufficient_scope", scope="admin"`,
    );
    expect(challenge(new HttpsRequiredError())).toBeUndefined();
  });

  it('sends Retry-After only on a 503, in whole seconds of at least 1', () => {
    expect(renderAuthError(new AuthUnavailableError(5)).headers['Retry-After']).toBe('5');
    expect(renderAuthError(new AuthUnavailableError(2.2)).headers['Retry-After']).toBe('3');
    expect(renderAuthError(new AuthUnavailableError(0.1)).headers['Retry-After']).toBe('1');
    expect(renderAuthError(new AuthUnavailableError(0)).headers['Retry-After']).toBe('1');
    for (const [error] of cases) {
      if (error.status !== 503)
        expect(renderAuthError(error).headers).not.toHaveProperty('Retry-After');
    }
  });

  it('tells how to turn the HTTPS check off in the https_required detail', () => {
    expect(renderAuthError(new HttpsRequiredError()).body.detail).toContain('requireHttps');
  });

  it('uses the configured realm, quoted and escaped', () => {
    const renderer = new ErrorRenderer({ realm: 'pay "ments" \\ api' });
    expect(renderer.realm).toBe('pay "ments" \\ api');
    expect(renderer.render(new MissingApiKeyError()).headers['WWW-Authenticate']).toBe(
      'Bearer realm="pay \\"ments\\" \\\\ api"',
    );
    expect(renderer.render(new InvalidApiKeyError()).headers['WWW-Authenticate']).toBe(
      'Bearer realm="pay \\"ments\\" \\\\ api", error="invalid_token"',
    );
    expect(
      renderer.render(new InsufficientScopeError(KEY_ID, 'admin')).headers['WWW-Authenticate'],
    ).toBe('Bearer realm="pay \\"ments\\" \\\\ api", error="insufficient_scope", scope="admin"');
  });

  it('quotes the required scope too', () => {
    expect(
      renderAuthError(new InsufficientScopeError(KEY_ID, 'we"ird')).headers['WWW-Authenticate'],
    ).toBe('Bearer realm="api", error="insufficient_scope", scope="we\\"ird"');
  });

  it('uses the configured problem type base', () => {
    const renderer = new ErrorRenderer({ problemTypeBase: 'https://docs.example/errors/' });
    expect(renderer.render(new MissingApiKeyError()).body.type).toBe(
      'https://docs.example/errors/missing_api_key',
    );
    expect(new ErrorRenderer({ problemTypeBase: '' }).problem(new MissingApiKeyError()).type).toBe(
      'missing_api_key',
    );
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['a line break', 'api\r\nX-Evil: 1'],
    ['a tab', 'a\tb'],
    ['a NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['non-ASCII', 'réalm'],
    ['not a string', 42],
    ['null', null],
  ])('refuses a realm with %s', (_, realm) => {
    expect(() => new ErrorRenderer({ realm: realm as string })).toThrow(ConfigurationError);
  });

  it('refuses a problem type base that cannot be sent', () => {
    expect(() => new ErrorRenderer({ problemTypeBase: 'urn:\n' })).toThrow(ConfigurationError);
    expect(() => new ErrorRenderer({ problemTypeBase: 5 as unknown as string })).toThrow(
      ConfigurationError,
    );
  });

  it('quoteHeaderValue escapes only quote and backslash', () => {
    expect(quoteHeaderValue('abc')).toBe('"abc"');
    expect(quoteHeaderValue('')).toBe('""');
    expect(quoteHeaderValue('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(PROBLEM_CONTENT_TYPE).toBe('application/problem+json');
  });
});

describe('KeyManagementError', () => {
  const table: [KeyManagementErrorCode, number][] = [
    ['invalid_key_parameters', 400],
    ['api_key_not_found', 404],
    ['api_key_not_active', 409],
    ['duplicate_key_id', 409],
  ];

  it.each(table)('%s has status %i and renders as a problem', (code, status) => {
    const error = new KeyManagementError(code, 'detail for the client');
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.statusCode).toBe(status);
    expect(error.name).toBe('KeyManagementError');
    expect(error.expose).toBe(true);
    expect(error).toBeInstanceOf(Error);
    const rendered = renderProblem(error);
    expect(rendered).toEqual({
      status,
      headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
      body: {
        type: `urn:orkesta-auth:error:${code}`,
        title: error.title,
        status,
        detail: 'detail for the client',
        code,
      },
    });
  });
});

describe('ConfigurationError', () => {
  it('has a stable code and name', () => {
    const error = new ConfigurationError('fix this');
    expect(error.code).toBe('ERR_ORKESTA_AUTH_CONFIG');
    expect(error.name).toBe('ConfigurationError');
    expect(error).toBeInstanceOf(Error);
  });
});

describe('the errors reported to onError', () => {
  it.each([
    [new StoreClosedError('the store'), 'StoreClosedError', 'ERR_ORKESTA_AUTH_STORE_CLOSED'],
    [new StoreTimeoutError(2_000), 'StoreTimeoutError', 'ERR_ORKESTA_AUTH_STORE_TIMEOUT'],
    [new ChangeFeedTimeoutError(1_000), 'ChangeFeedTimeoutError', 'ERR_ORKESTA_AUTH_FEED_TIMEOUT'],
    [
      new StoredRecordError('AbCdEfGhIjKl', 'no hash'),
      'StoredRecordError',
      'ERR_ORKESTA_AUTH_STORED_RECORD',
    ],
  ])('%s has its own name and a stable code', (error, name, code) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error).toBeInstanceOf(Error);
    expect(String(error).startsWith(`${name}: `)).toBe(true);
  });
});
