import type { AuthErrorCode } from './errors.js';
import { AUTH_ERROR_STATUS, ConfigurationError } from './errors.js';
import { optionsObject } from './options.js';
import { PROBLEM_CONTENT_TYPE } from './render.js';
import type { Scope } from './scopes.js';
import { isScope, SCOPES } from './scopes.js';

/**
 * What an operation needs: a key of at least this scope, any valid key (`key`), or nothing
 * (`public`).
 */
export type OperationAccess = Scope | 'key' | 'public';

/** An operation of the document, as `access` sees it. */
export interface OpenApiOperationInfo {
  /** Lower case, as the document writes it: `get`, `post`, … */
  readonly method: string;
  /** The document's path template: `/v1/api-keys/{id}`. */
  readonly path: string;
  readonly operationId: string | undefined;
  /** The operation object itself (read it; the helper writes the result). */
  readonly operation: Readonly<Record<string, unknown>>;
}

export interface ApiKeyOpenApiOptions {
  /** The security scheme's name in `components.securitySchemes`. Default `"orkestaApiKey"`. */
  readonly schemeName?: string;
  /**
   * What each operation needs. Called for every operation; `undefined` leaves it to the
   * operation's `x-orkesta-public` / `x-orkesta-scope` extensions (written by the Nest
   * decorators, or by hand), then to `defaultAccess`.
   */
  readonly access?: (operation: OpenApiOperationInfo) => OperationAccess | undefined;
  /**
   * What an operation needs when neither `access` nor its extensions say. Default `"key"`: any
   * valid key, as `app.use(orkestaAuth())` or Nest's global guard demand of every route.
   */
  readonly defaultAccess?: OperationAccess;
}

/** The least an OpenAPI 3.0 or 3.1 document has; its other fields are kept as they are. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths?: object;
  readonly components?: object;
}

const OPTIONS: readonly (keyof ApiKeyOpenApiOptions)[] = ['schemeName', 'access', 'defaultAccess'];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** The extensions the helper reads and writes on an operation. */
export const OPENAPI_SCOPE_EXTENSION = 'x-orkesta-scope';
export const OPENAPI_PUBLIC_EXTENSION = 'x-orkesta-public';

const PROBLEM_SCHEMA = 'OrkestaProblem';
/** `"read-only", "read-write", "admin"`, for messages. */
const SCOPE_NAMES = SCOPES.map((scope) => `"${scope}"`).join(', ');
const REFUSAL_STATUSES = [401, 403, 429, 503] as const;
type RefusalStatus = (typeof AUTH_ERROR_STATUS)[AuthErrorCode];

/** Each status a key-protected operation can answer with: its response's name and headers. */
const REFUSALS: Readonly<
  Record<RefusalStatus, { readonly name: string; readonly headers: readonly string[] }>
> = {
  401: { name: 'OrkestaUnauthorized', headers: ['WWW-Authenticate'] },
  403: { name: 'OrkestaForbidden', headers: ['WWW-Authenticate'] },
  429: {
    name: 'OrkestaTooManyRequests',
    headers: ['Retry-After', 'RateLimit-Policy', 'RateLimit'],
  },
  503: { name: 'OrkestaUnavailable', headers: ['Retry-After'] },
};

const HEADER_OBJECTS: Readonly<Record<string, Record<string, unknown>>> = {
  'WWW-Authenticate': {
    description:
      'The Bearer challenge (RFC 6750): `Bearer realm="…"`, with `error="invalid_request"`, `"invalid_token"` or `"insufficient_scope"` (and the needed `scope`) where one applies.',
    schema: { type: 'string' },
  },
  'Retry-After': {
    description: 'Whole seconds to wait before retrying, at least 1.',
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Policy': {
    description: "The key's request rate (IETF RateLimit fields), on `rate_limit_exceeded`.",
    schema: { type: 'string' },
  },
  RateLimit: {
    description: "What is left of the key's request rate (IETF RateLimit fields).",
    schema: { type: 'string' },
  },
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function codesOf(status: RefusalStatus): AuthErrorCode[] {
  return (Object.keys(AUTH_ERROR_STATUS) as AuthErrorCode[]).filter(
    (code) => AUTH_ERROR_STATUS[code] === status,
  );
}

function refusalResponse(status: RefusalStatus): Json {
  const codes = codesOf(status);
  return {
    description: `Refused by API-key authentication: \`code\` is one of ${codes
      .map((code) => `\`${code}\``)
      .join(', ')}.`,
    headers: Object.fromEntries(
      // Copies: a document that shares objects with this module, or between its responses,
      // would change every later one when a caller edits it.
      REFUSALS[status].headers.map((name) => [name, structuredClone(HEADER_OBJECTS[name])]),
    ),
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: {
          allOf: [
            { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` },
            {
              type: 'object',
              properties: { status: { enum: [status] }, code: { enum: codes } },
            },
          ],
        },
      },
    },
  };
}

function problemSchema(): Json {
  return {
    type: 'object',
    description: 'An RFC 9457 problem: every refusal of API-key authentication has this body.',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string', description: 'A URI naming the problem type.' },
      title: { type: 'string' },
      status: { type: 'integer', enum: [...REFUSAL_STATUSES] },
      detail: { type: 'string', description: 'For people; never carries the key.' },
      code: {
        type: 'string',
        description: 'Stable: what clients switch on.',
        enum: Object.keys(AUTH_ERROR_STATUS),
      },
    },
  };
}

function securityScheme(): Json {
  return {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'API key',
    description: `An API key in the Authorization header: \`Authorization: Bearer ork_live_…\`. A key belongs to one workspace and has one scope; scopes are ordered ${SCOPES.map(
      (scope) => `\`${scope}\``,
    ).join(' < ')}, and an operation that needs a scope admits that scope and every one above it.`,
  };
}

const ACCESS_SENTENCE_START = 'Needs an API key (`Authorization: Bearer …`)';

function accessSentence(access: Exclude<OperationAccess, 'public'>): string {
  return access === 'key'
    ? `${ACCESS_SENTENCE_START} of any scope.`
    : `${ACCESS_SENTENCE_START} with the \`${access}\` scope or higher.`;
}

function refusalRef(status: RefusalStatus): string {
  return `#/components/responses/${REFUSALS[status].name}`;
}

const REFUSAL_REFS: ReadonlySet<unknown> = new Set(
  REFUSAL_STATUSES.map((status) => refusalRef(status)),
);

/** The operation's responses without the references an earlier run of the helper added. */
function ownResponses(operation: Json): Json {
  if (!isObject(operation.responses)) return {};
  return Object.fromEntries(
    Object.entries(operation.responses).filter(
      ([, response]) => !(isObject(response) && REFUSAL_REFS.has(response.$ref)),
    ),
  );
}

/** The operation's description without the sentence an earlier run of the helper added. */
function ownParagraphs(operation: Json): string[] {
  if (typeof operation.description !== 'string') return [];
  return operation.description
    .split('\n\n')
    .filter((paragraph) => paragraph !== '' && !paragraph.startsWith(ACCESS_SENTENCE_START));
}

function parseAccess(value: unknown, where: string): OperationAccess {
  if (value === 'key' || value === 'public' || isScope(value)) return value;
  throw new ConfigurationError(
    `${where} must be "key", "public" or one of ${SCOPE_NAMES}; got ${JSON.stringify(value)}`,
  );
}

/** What the operation's own extensions say, the way the Nest guard reads its decorators. */
function extensionAccess(operation: Json, where: string): OperationAccess | undefined {
  if (operation[OPENAPI_PUBLIC_EXTENSION] === true) return 'public';
  const scope = operation[OPENAPI_SCOPE_EXTENSION];
  if (scope === undefined) return undefined;
  if (!isScope(scope)) {
    throw new ConfigurationError(
      `${where} has ${OPENAPI_SCOPE_EXTENSION} ${JSON.stringify(scope)}; it must be one of ${SCOPE_NAMES}`,
    );
  }
  return scope;
}

/** `found` says what was given instead: no object, or the object's `openapi`. */
function notOpenApi3(found: string): ConfigurationError {
  return new ConfigurationError(
    `addApiKeyAuth documents OpenAPI 3.0 and 3.1 documents ({ openapi: "3.1.0", … }); got ${found}`,
  );
}

/**
 * Documents API-key authentication in an OpenAPI 3.0 or 3.1 document, and returns the new
 * document (the one given is not changed). It adds the Bearer security scheme, an
 * `OrkestaProblem` schema whose `code` is an enum of every refusal code, and one response per
 * refusal status (401, 403, 429, 503, with their headers). Each operation that needs a key gets
 * the security requirement (in 3.1 with its least scope as the role), `x-orkesta-scope`, a
 * sentence in its description, and the refusal responses it does not already document; a public
 * operation gets `security: []` and `x-orkesta-public: true`. Running it twice changes nothing
 * more. Throws a `ConfigurationError` for a document that is not OpenAPI 3.0 or 3.1 or not plain
 * data, a path item given by `$ref`, an unknown scope, or an unknown option.
 */
export function addApiKeyAuth<D extends OpenApiDocument>(
  document: D,
  options?: ApiKeyOpenApiOptions,
): D {
  const given = optionsObject(options, OPTIONS, undefined, 'an object');
  const schemeName = given.schemeName ?? 'orkestaApiKey';
  if (typeof schemeName !== 'string' || !/^[\w.-]+$/.test(schemeName)) {
    throw new ConfigurationError('schemeName must be a name of letters, digits, ".", "-" or "_"');
  }
  const access = given.access;
  if (access !== undefined && typeof access !== 'function') {
    throw new ConfigurationError('access must be a function of the operation');
  }
  const defaultAccess = parseAccess(given.defaultAccess ?? 'key', 'defaultAccess');
  if (!isObject(document)) throw notOpenApi3(String(document));
  const version =
    typeof document.openapi === 'string' ? /^3\.([01])\.\d+$/.exec(document.openapi) : null;
  if (version === null) throw notOpenApi3(`openapi ${JSON.stringify(document.openapi)}`);
  const rolesInRequirements = version[1] === '1';

  let result: Json;
  try {
    result = structuredClone(document);
  } catch (cause) {
    // A function, a symbol or a class instance with private state is no JSON an OpenAPI
    // document can hold.
    throw new ConfigurationError('the document must be plain data (JSON); it cannot be copied', {
      cause,
    });
  }
  const components = isObject(result.components) ? result.components : {};
  result.components = components;
  components.securitySchemes = {
    ...(isObject(components.securitySchemes) ? components.securitySchemes : {}),
    [schemeName]: securityScheme(),
  };
  components.schemas = {
    ...(isObject(components.schemas) ? components.schemas : {}),
    [PROBLEM_SCHEMA]: problemSchema(),
  };
  const responses: Json = isObject(components.responses) ? { ...components.responses } : {};
  for (const status of REFUSAL_STATUSES) {
    responses[REFUSALS[status].name] = refusalResponse(status);
  }
  components.responses = responses;

  const paths = isObject(result.paths) ? result.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    if (item.$ref !== undefined) {
      throw new ConfigurationError(
        `path ${path} is a $ref; dereference the document before addApiKeyAuth`,
      );
    }
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const where = `${method} ${path}`;
      const operationId =
        typeof operation.operationId === 'string' ? operation.operationId : undefined;
      const asked = access?.({ method, path, operationId, operation });
      const decided =
        asked === undefined
          ? (extensionAccess(operation, where) ?? defaultAccess)
          : parseAccess(asked, `access(${where})`);
      documentOperation(operation, decided, schemeName, rolesInRequirements);
    }
  }
  return result as D;
}

function documentOperation(
  operation: Json,
  access: OperationAccess,
  schemeName: string,
  rolesInRequirements: boolean,
): void {
  if (access === 'public') {
    operation.security = [];
    operation[OPENAPI_PUBLIC_EXTENSION] = true;
    delete operation[OPENAPI_SCOPE_EXTENSION];
    const own = ownResponses(operation);
    // Responses made only of what an earlier run added were absent before it.
    if (Object.keys(own).length === 0) delete operation.responses;
    else operation.responses = own;
    const paragraphs = ownParagraphs(operation);
    if (paragraphs.length === 0) delete operation.description;
    else operation.description = paragraphs.join('\n\n');
    return;
  }
  const roles = access !== 'key' && rolesInRequirements ? [access] : [];
  operation.security = [{ [schemeName]: roles }];
  delete operation[OPENAPI_PUBLIC_EXTENSION];
  if (access === 'key') delete operation[OPENAPI_SCOPE_EXTENSION];
  else operation[OPENAPI_SCOPE_EXTENSION] = access;
  operation.description = [...ownParagraphs(operation), accessSentence(access)].join('\n\n');
  // A copy: generated documents often share one responses object between operations.
  const responses: Json = { ...ownResponses(operation) };
  for (const status of REFUSAL_STATUSES) {
    responses[status] ??= { $ref: refusalRef(status) };
  }
  operation.responses = responses;
}
