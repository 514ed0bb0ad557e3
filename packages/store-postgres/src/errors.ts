/** Why the schema cannot be used by this version of the package. */
export type SchemaProblem = 'not_migrated' | 'outdated' | 'too_new';

/**
 * The schema is missing, older than this package needs, or newer than it knows. Store operations
 * reject with it (an authenticator answers 503 and reports it through its `onError` hook); the
 * message says what to run.
 */
export class SchemaVersionError extends Error {
  readonly code = 'ERR_ORKESTA_AUTH_PG_SCHEMA';
  readonly problem: SchemaProblem;
  readonly schema: string;
  /** The version the schema is at; 0 when it has never been migrated. */
  readonly foundVersion: number;
  /** The version this package needs. */
  readonly requiredVersion: number;

  constructor(schema: string, foundVersion: number, requiredVersion: number) {
    const problem: SchemaProblem =
      foundVersion === 0 ? 'not_migrated' : foundVersion < requiredVersion ? 'outdated' : 'too_new';
    const run = `run \`orkesta-auth-postgres migrate --schema ${schema}\`, call migrate({ schema: '${schema}' }), or create the store with migrate: true`;
    super(
      problem === 'not_migrated'
        ? `PostgreSQL schema "${schema}" has no orkesta-auth tables: ${run}`
        : problem === 'outdated'
          ? `PostgreSQL schema "${schema}" is at version ${foundVersion}, this package needs version ${requiredVersion}: ${run}`
          : `PostgreSQL schema "${schema}" is at version ${foundVersion}, newer than this package knows (${requiredVersion}): upgrade @orkesta/auth-store-postgres`,
    );
    this.problem = problem;
    this.schema = schema;
    this.foundVersion = foundVersion;
    this.requiredVersion = requiredVersion;
  }

  override get name(): string {
    return 'SchemaVersionError';
  }
}

/**
 * What went wrong, in words. A connection failure may come as an AggregateError with an empty
 * message (one error per address tried): its first inner message, else its `code`.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner[0] instanceof Error && inner[0].message !== '') {
    return inner[0].message;
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
