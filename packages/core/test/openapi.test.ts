import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPI } from 'openapi-types';
import { describe, expect, it } from 'vitest';
import { renderAuthError } from '../src/adapter.js';
import type { AnyAuthError } from '../src/index.js';
import {
  ApiKeyExpiredError,
  ApiKeyRevokedError,
  AUTH_ERROR_STATUS,
  AuthUnavailableError,
  addApiKeyAuth,
  ConfigurationError,
  HttpsRequiredError,
  InsufficientScopeError,
  InvalidApiKeyError,
  MalformedAuthorizationHeaderError,
  MissingApiKeyError,
  RateLimitExceededError,
  TooManyFailedAttemptsError,
  WorkspaceMismatchError,
} from '../src/index.js';

const KEY_ID = 'AbCdEf012345';

/** One of every request-time error, as the pipeline makes them. */
const EVERY_ERROR: readonly AnyAuthError[] = [
  new HttpsRequiredError(),
  new MissingApiKeyError(),
  new MalformedAuthorizationHeaderError(),
  new InvalidApiKeyError(KEY_ID),
  new ApiKeyRevokedError(KEY_ID),
  new ApiKeyExpiredError(KEY_ID),
  new AuthUnavailableError(5, KEY_ID),
  new WorkspaceMismatchError(KEY_ID),
  new RateLimitExceededError(KEY_ID, 1, {}),
  new TooManyFailedAttemptsError(1),
  new InsufficientScopeError(KEY_ID, 'admin'),
];

// biome-ignore lint/suspicious/noExplicitAny: the tests read generated documents by path.
type Json = Record<string, any>;

/** A small payments API, as a user would write it before documenting its authentication. */
function paymentsDocument(openapi = '3.1.0'): Json & { openapi: string } {
  const ok = { '200': { description: 'OK' } };
  return {
    openapi,
    info: { title: 'Payments', version: '1.0.0' },
    paths: {
      '/health': { get: { operationId: 'health', responses: ok } },
      '/v1/payments': {
        get: { operationId: 'listPayments', description: 'Lists payments.', responses: ok },
        post: {
          operationId: 'createPayment',
          'x-orkesta-scope': 'read-write',
          responses: {
            '201': { description: 'Created' },
            '403': { description: 'The account is frozen.' },
          },
        },
      },
      '/v1/api-keys/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        delete: { operationId: 'revokeKey', responses: ok },
      },
    },
    ...(openapi.startsWith('3.1')
      ? { webhooks: { payment: { post: { responses: { '200': { description: 'OK' } } } } } }
      : {}),
  };
}

/** Rejects a document the OpenAPI schema (and the validator's own checks) do not accept. */
async function validate(document: object): Promise<void> {
  await SwaggerParser.validate(structuredClone(document) as OpenAPI.Document);
}

const access = ({ path, method }: { path: string; method: string }) =>
  path === '/health' ? 'public' : method === 'delete' ? 'admin' : undefined;

describe('addApiKeyAuth: OpenAPI documents', () => {
  it('gives every refusal code the status the contract gives it', () => {
    expect(Object.keys(AUTH_ERROR_STATUS).sort()).toEqual(EVERY_ERROR.map((e) => e.code).sort());
    for (const error of EVERY_ERROR) expect(AUTH_ERROR_STATUS[error.code]).toBe(error.status);
  });

  it.each(['3.1.0', '3.0.3'])('makes a valid OpenAPI %s document', async (version) => {
    const before = paymentsDocument(version);
    await validate(before);
    await validate(addApiKeyAuth(before, { access }));
  });

  it('adds the Bearer scheme, the problem schema and a response per refusal status', () => {
    const doc: Json = addApiKeyAuth(paymentsDocument());
    expect(doc.components.securitySchemes.orkestaApiKey).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(doc.components.securitySchemes.orkestaApiKey.bearerFormat).toBe('API key');
    expect(doc.components.securitySchemes.orkestaApiKey.description).toContain(
      '`read-only` < `read-write` < `admin`',
    );
    const problem = doc.components.schemas.OrkestaProblem;
    expect(problem.type).toBe('object');
    expect(problem.required).toEqual(['type', 'title', 'status', 'detail', 'code']);
    expect(problem.properties).toMatchObject({
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer', enum: [401, 403, 429, 503] },
      detail: { type: 'string' },
      code: { type: 'string' },
    });
    expect([...problem.properties.code.enum].sort()).toEqual(Object.keys(AUTH_ERROR_STATUS).sort());
    const byName = {
      OrkestaUnauthorized: 401,
      OrkestaForbidden: 403,
      OrkestaTooManyRequests: 429,
      OrkestaUnavailable: 503,
    };
    expect(Object.keys(doc.components.responses).sort()).toEqual(Object.keys(byName).sort());
    for (const [name, status] of Object.entries(byName)) {
      const response = doc.components.responses[name];
      const [ref, narrowed] = response.content['application/problem+json'].schema.allOf;
      expect(ref).toEqual({ $ref: '#/components/schemas/OrkestaProblem' });
      expect(narrowed.properties.status.enum).toEqual([status]);
      const codes = Object.entries(AUTH_ERROR_STATUS)
        .filter(([, s]) => s === status)
        .map(([code]) => `\`${code}\``);
      expect(response.description).toBe(
        `Refused by API-key authentication: \`code\` is one of ${codes.join(', ')}.`,
      );
      expect(narrowed.properties.code.enum).toEqual(
        Object.entries(AUTH_ERROR_STATUS)
          .filter(([, s]) => s === status)
          .map(([code]) => code),
      );
    }
    expect(Object.keys(doc.components.responses.OrkestaUnauthorized.headers)).toEqual([
      'WWW-Authenticate',
    ]);
    expect(Object.keys(doc.components.responses.OrkestaForbidden.headers)).toEqual([
      'WWW-Authenticate',
    ]);
    expect(Object.keys(doc.components.responses.OrkestaTooManyRequests.headers)).toEqual([
      'Retry-After',
      'RateLimit-Policy',
      'RateLimit',
    ]);
    expect(Object.keys(doc.components.responses.OrkestaUnavailable.headers)).toEqual([
      'Retry-After',
    ]);
  });

  it('describes the problem body field by field, as the renderer writes it', () => {
    const doc: Json = addApiKeyAuth(paymentsDocument());
    expect(doc.components.schemas.OrkestaProblem).toEqual({
      type: 'object',
      description: 'An RFC 9457 problem: every refusal of API-key authentication has this body.',
      required: ['type', 'title', 'status', 'detail', 'code'],
      properties: {
        type: { type: 'string', description: 'A URI naming the problem type.' },
        title: { type: 'string' },
        status: { type: 'integer', enum: [401, 403, 429, 503] },
        detail: { type: 'string', description: 'For people; never carries the key.' },
        code: {
          type: 'string',
          description: 'Stable: what clients switch on.',
          enum: Object.keys(AUTH_ERROR_STATUS),
        },
      },
    });
    const rendered = new InvalidApiKeyError(KEY_ID);
    expect(Object.keys(renderAuthError(rendered).body).sort()).toEqual(
      ['code', 'detail', 'status', 'title', 'type'].sort(),
    );
  });

  it('gives every document objects of its own: editing one changes no other', () => {
    const first: Json = addApiKeyAuth(paymentsDocument());
    first.components.responses.OrkestaUnauthorized.headers['WWW-Authenticate'].description = 'x';
    first.components.responses.OrkestaTooManyRequests.headers['Retry-After'].schema.minimum = 0;
    const second: Json = addApiKeyAuth(paymentsDocument());
    const { responses } = second.components;
    expect(responses.OrkestaForbidden.headers['WWW-Authenticate'].description).not.toBe('x');
    expect(responses.OrkestaUnauthorized.headers['WWW-Authenticate'].description).not.toBe('x');
    expect(responses.OrkestaUnavailable.headers['Retry-After'].schema.minimum).toBe(1);
    expect(responses.OrkestaForbidden.headers['WWW-Authenticate']).not.toBe(
      responses.OrkestaUnauthorized.headers['WWW-Authenticate'],
    );
  });

  it('keeps the components a document already has', () => {
    const given = paymentsDocument();
    given.components = {
      schemas: { Payment: { type: 'object' } },
      responses: { NotFound: { description: 'Not found' } },
      securitySchemes: { oauth: { type: 'http', scheme: 'basic' } },
    };
    const doc: Json = addApiKeyAuth(given);
    expect(doc.components.schemas.Payment).toEqual({ type: 'object' });
    expect(doc.components.responses.NotFound).toEqual({ description: 'Not found' });
    expect(doc.components.securitySchemes.oauth).toEqual({ type: 'http', scheme: 'basic' });
  });

  it('by default every operation needs a key, as app.use(orkestaAuth()) does', () => {
    const doc: Json = addApiKeyAuth(paymentsDocument());
    const list = doc.paths['/v1/payments'].get;
    expect(list.security).toEqual([{ orkestaApiKey: [] }]);
    expect(list['x-orkesta-scope']).toBeUndefined();
    expect(list.description).toBe(
      'Lists payments.\n\nNeeds an API key (`Authorization: Bearer …`) of any scope.',
    );
    expect(list.responses).toEqual({
      '200': { description: 'OK' },
      '401': { $ref: '#/components/responses/OrkestaUnauthorized' },
      '403': { $ref: '#/components/responses/OrkestaForbidden' },
      '429': { $ref: '#/components/responses/OrkestaTooManyRequests' },
      '503': { $ref: '#/components/responses/OrkestaUnavailable' },
    });
    expect(doc.paths['/health'].get.security).toEqual([{ orkestaApiKey: [] }]);
  });

  it('writes the least scope as the requirement role in 3.1, and leaves roles empty in 3.0', () => {
    const v31: Json = addApiKeyAuth(paymentsDocument('3.1.0'), { access });
    expect(v31.paths['/v1/payments'].post.security).toEqual([{ orkestaApiKey: ['read-write'] }]);
    expect(v31.paths['/v1/api-keys/{id}'].delete.security).toEqual([{ orkestaApiKey: ['admin'] }]);
    const v30: Json = addApiKeyAuth(paymentsDocument('3.0.3'), { access });
    expect(v30.paths['/v1/payments'].post.security).toEqual([{ orkestaApiKey: [] }]);
    expect(v30.paths['/v1/payments'].post['x-orkesta-scope']).toBe('read-write');
  });

  it('takes the scope of x-orkesta-scope, and says it in the description', () => {
    const post: Json = addApiKeyAuth(paymentsDocument()).paths['/v1/payments'].post;
    expect(post['x-orkesta-scope']).toBe('read-write');
    expect(post.description).toBe(
      'Needs an API key (`Authorization: Bearer …`) with the `read-write` scope or higher.',
    );
  });

  it("keeps an operation's own response for a status", () => {
    const post: Json = addApiKeyAuth(paymentsDocument()).paths['/v1/payments'].post;
    expect(post.responses['403']).toEqual({ description: 'The account is frozen.' });
    expect(post.responses['401']).toEqual({ $ref: '#/components/responses/OrkestaUnauthorized' });
  });

  it('makes a public operation need nothing: security [] and no refusal responses', () => {
    const given = paymentsDocument();
    given.paths['/health'].get['x-orkesta-public'] = true;
    given.paths['/health'].get['x-orkesta-scope'] = 'admin'; // public wins, as in the Nest guard
    given.paths['/health'].get.security = [{ orkestaApiKey: [] }];
    const health: Json = addApiKeyAuth(given).paths['/health'].get;
    expect(health).toEqual({
      operationId: 'health',
      responses: { '200': { description: 'OK' } },
      security: [],
      'x-orkesta-public': true,
    });
  });

  it('asks access() first, with the method, path template and operation id', () => {
    const seen: string[] = [];
    const doc: Json = addApiKeyAuth(paymentsDocument(), {
      access: ({ method, path, operationId, operation }) => {
        seen.push(`${method} ${path} ${operationId} ${typeof operation.responses}`);
        return method === 'post' ? 'admin' : undefined;
      },
    });
    expect(seen).toEqual([
      'get /health health object',
      'get /v1/payments listPayments object',
      'post /v1/payments createPayment object',
      'delete /v1/api-keys/{id} revokeKey object',
    ]);
    // access() beats the extension
    expect(doc.paths['/v1/payments'].post['x-orkesta-scope']).toBe('admin');
  });

  it('uses defaultAccess where neither access() nor the extensions decide', () => {
    const doc: Json = addApiKeyAuth(paymentsDocument(), { defaultAccess: 'public' });
    expect(doc.paths['/v1/payments'].get.security).toEqual([]);
    expect(doc.paths['/v1/payments'].post.security).toEqual([{ orkestaApiKey: ['read-write'] }]);
    const scoped: Json = addApiKeyAuth(paymentsDocument(), { defaultAccess: 'read-only' });
    expect(scoped.paths['/health'].get['x-orkesta-scope']).toBe('read-only');
  });

  it('replaces security requirements of other schemes: the middleware takes only keys', () => {
    const given = paymentsDocument();
    given.paths['/v1/payments'].get.security = [{ basic: [] }];
    const doc: Json = addApiKeyAuth(given, { schemeName: 'payments-key' });
    expect(doc.paths['/v1/payments'].get.security).toEqual([{ 'payments-key': [] }]);
    expect(doc.components.securitySchemes['payments-key'].scheme).toBe('bearer');
    expect(doc.components.securitySchemes.orkestaApiKey).toBeUndefined();
  });

  it('leaves the given document as it was, and webhooks (outgoing calls) alone', () => {
    const given = paymentsDocument();
    const copy = structuredClone(given);
    const doc: Json = addApiKeyAuth(given, { access });
    expect(given).toEqual(copy);
    expect(doc.webhooks).toEqual(copy.webhooks);
  });

  it('changes nothing more when run again, and rewrites its sentence when access changes', () => {
    const once = addApiKeyAuth(paymentsDocument(), { access });
    expect(addApiKeyAuth(once, { access })).toEqual(once);
    const changed: Json = addApiKeyAuth(once, { defaultAccess: 'admin' });
    expect(changed.paths['/v1/payments'].get.description).toBe(
      'Lists payments.\n\nNeeds an API key (`Authorization: Bearer …`) with the `admin` scope or higher.',
    );
    const opened: Json = addApiKeyAuth(once, { defaultAccess: 'public' });
    expect(opened.paths['/v1/payments'].get.description).toBe('Lists payments.');
    expect(opened.paths['/v1/payments'].get['x-orkesta-scope']).toBeUndefined();
    // The extension the first run wrote is what the second one reads: still admin.
    expect(opened.paths['/v1/api-keys/{id}'].delete.security).toEqual([
      { orkestaApiKey: ['admin'] },
    ]);
    // A public operation loses the refusal responses an earlier run gave it.
    expect(opened.paths['/v1/payments'].get.responses).toEqual({ '200': { description: 'OK' } });
    const bare: Json = addApiKeyAuth(
      addApiKeyAuth({ openapi: '3.1.0', paths: { '/a': { get: {} } } }),
      { defaultAccess: 'public' },
    );
    expect(bare.paths['/a'].get).toEqual({ security: [], 'x-orkesta-public': true });
  });

  it('documents each operation on its own where a generated document shares objects', () => {
    const shared = { '200': { description: 'OK' } };
    const doc: Json = addApiKeyAuth({
      openapi: '3.1.0',
      paths: {
        '/a': { get: { responses: shared, 'x-orkesta-public': true } },
        '/b': { get: { responses: shared } },
      },
    });
    expect(doc.paths['/a'].get.responses).toEqual({ '200': { description: 'OK' } });
    expect(Object.keys(doc.paths['/b'].get.responses)).toEqual(['200', '401', '403', '429', '503']);
  });

  it('documents operations without responses or description, and skips empty path items', () => {
    const doc: Json = addApiKeyAuth({
      openapi: '3.1.0',
      paths: {
        '/a': { get: { description: '' }, post: { 'x-orkesta-public': true } },
        '/b': null,
      },
    });
    expect(doc.paths['/a'].get.responses).toEqual({
      '401': { $ref: '#/components/responses/OrkestaUnauthorized' },
      '403': { $ref: '#/components/responses/OrkestaForbidden' },
      '429': { $ref: '#/components/responses/OrkestaTooManyRequests' },
      '503': { $ref: '#/components/responses/OrkestaUnavailable' },
    });
    expect(doc.paths['/a'].get.description).toBe(
      'Needs an API key (`Authorization: Bearer …`) of any scope.',
    );
    expect(doc.paths['/a'].post).toEqual({ 'x-orkesta-public': true, security: [] });
    expect(doc.paths['/b']).toBeNull();
  });

  it("keeps a public operation's own paragraphs, without the sentence an earlier run wrote", () => {
    const given = {
      openapi: '3.1.0',
      paths: { '/a': { get: { description: 'First.\n\nSecond.', responses: {} } } },
    };
    const keyed = addApiKeyAuth(given);
    const opened: Json = addApiKeyAuth(keyed, { defaultAccess: 'public' });
    expect(opened.paths['/a'].get.description).toBe('First.\n\nSecond.');
  });

  it('passes access() no operation id where the document has none that is text', () => {
    const ids: unknown[] = [];
    addApiKeyAuth(
      { openapi: '3.0.3', paths: { '/a': { get: { operationId: 42 }, put: {} } } },
      { access: ({ operationId }) => void ids.push(operationId) },
    );
    expect(ids).toEqual([undefined, undefined]);
  });

  it.each(['3.0.0', '3.0.4', '3.1.0', '3.1.12'])('takes OpenAPI %s', (openapi) => {
    expect(addApiKeyAuth({ openapi, paths: {} }).openapi).toBe(openapi);
  });

  it.each([
    [
      'a misspelt option',
      () => addApiKeyAuth(paymentsDocument(), { defaultAcess: 'key' } as never),
    ],
    ['options that are no object', () => addApiKeyAuth(paymentsDocument(), 'key' as never)],
    [
      'an unknown defaultAccess',
      () => addApiKeyAuth(paymentsDocument(), { defaultAccess: 'root' as never }),
    ],
    [
      'an access() answer that is no access',
      () => addApiKeyAuth(paymentsDocument(), { access: () => 'write' as never }),
    ],
    [
      'access that is no function',
      () => addApiKeyAuth(paymentsDocument(), { access: 'public' as never }),
    ],
    [
      'a scheme name with spaces',
      () => addApiKeyAuth(paymentsDocument(), { schemeName: 'api key' }),
    ],
    ['a Swagger 2.0 document', () => addApiKeyAuth({ swagger: '2.0', paths: {} } as never)],
    ['an OpenAPI 4 document', () => addApiKeyAuth({ openapi: '4.0.0', paths: {} })],
    ['a version with text before it', () => addApiKeyAuth({ openapi: 'v3.1.0', paths: {} })],
    ['a version with text after it', () => addApiKeyAuth({ openapi: '3.1.0-draft', paths: {} })],
    ['a version that is no text', () => addApiKeyAuth({ openapi: ['3.1.0'] } as never)],
    [
      'a scheme name that is no text',
      () => addApiKeyAuth(paymentsDocument(), { schemeName: 42 as never }),
    ],
    ['no document', () => addApiKeyAuth(null as never)],
    [
      'a document that is no plain data',
      () => addApiKeyAuth({ openapi: '3.1.0', paths: {}, 'x-hook': () => 1 } as never),
    ],
    [
      'a path item given by $ref',
      () => addApiKeyAuth({ openapi: '3.1.0', paths: { '/a': { $ref: '#/x' } } }),
    ],
    [
      'an unknown x-orkesta-scope',
      () =>
        addApiKeyAuth({
          openapi: '3.1.0',
          paths: { '/a': { get: { 'x-orkesta-scope': 'owner' } } },
        }),
    ],
  ])('throws a ConfigurationError for %s', (_what, call) => {
    expect(call).toThrow(ConfigurationError);
  });

  it('says why a document that is no plain data cannot be documented', () => {
    const call = () => addApiKeyAuth({ openapi: '3.1.0', 'x-hook': () => 1 } as never);
    expect(call).toThrow(ConfigurationError);
    try {
      call();
    } catch (error) {
      expect((error as ConfigurationError).cause).toBeInstanceOf(Error);
    }
  });

  it('names the misspelt option and the one it meant', () => {
    try {
      addApiKeyAuth(paymentsDocument(), { schemename: 'x' } as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ option: 'schemename', suggestion: 'schemeName' });
    }
  });
});
