import { isAbsolute, resolve } from 'node:path';
import { ConfigurationError } from '@orkesta/auth';
import { rejectUnknownOptions } from '@orkesta/auth/store';
import { validateSchemaName } from '@orkesta/auth-store-postgres';

/** The environment variable that names the key store when `--store` is not given. */
export const STORE_ENV = 'ORKESTA_AUTH_STORE';

/** The store used when neither `--store` nor `ORKESTA_AUTH_STORE` names one. */
export const DEFAULT_STORE_SPEC = 'sqlite:.orkesta/keys.db';

/** A key store, as a `--store` value or `ORKESTA_AUTH_STORE` names it. */
export type StoreSpec =
  | {
      readonly kind: 'sqlite';
      /** The database file, absolute. */
      readonly filename: string;
    }
  | {
      readonly kind: 'postgres';
      /** The connection URL as given, without the `schema` parameter. May carry a password. */
      readonly url: string;
      /** The schema, from the URL's `?schema=` parameter; absent for the store's default. */
      readonly schema?: string;
    };

export interface StoreSpecOptions {
  /**
   * The directory a relative SQLite path is resolved against. Default: `INIT_CWD` (the
   * directory `pnpm …`/`npm …` was run from, which pnpm passes to scripts run in a package's
   * own directory), else the current directory.
   */
  readonly cwd?: string;
}

const SPEC_OPTION_NAMES: readonly (keyof StoreSpecOptions)[] = ['cwd'];

const ACCEPTED =
  'accepted: sqlite:PATH (a file, relative to the directory you ran the command from) or postgres://USER@HOST:PORT/DATABASE[?schema=NAME] (postgresql:// too)';

/** Refuses options that are not `{ cwd? }`, a misspelt name among them. */
function checkSpecOptions(options: StoreSpecOptions | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigurationError('the store spec options must be { cwd? }');
  }
  rejectUnknownOptions(options, SPEC_OPTION_NAMES);
  if (options.cwd !== undefined && (typeof options.cwd !== 'string' || options.cwd === '')) {
    throw new ConfigurationError('cwd must be the path of a directory');
  }
}

/** The directory relative SQLite paths resolve against. */
function baseDirectory(options: StoreSpecOptions | undefined, env: NodeJS.ProcessEnv): string {
  if (options?.cwd !== undefined) return options.cwd;
  const initCwd = env.INIT_CWD;
  return initCwd !== undefined && initCwd !== '' ? initCwd : process.cwd();
}

/**
 * Reads a store spec: `sqlite:PATH` or `postgres://…` / `postgresql://…` (a `schema` query
 * parameter picks the schema). Throws a ConfigurationError saying what is accepted; the message
 * never repeats a URL's password.
 */
export function parseStoreSpec(value: string, options?: StoreSpecOptions): StoreSpec {
  return parseWith(value, options, process.env);
}

function parseWith(
  value: string,
  options: StoreSpecOptions | undefined,
  env: NodeJS.ProcessEnv,
): StoreSpec {
  checkSpecOptions(options);
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`the store is empty; ${ACCEPTED}`);
  }
  const lower = value.toLowerCase();
  if (lower.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    if (path === '' || path.includes('\0')) {
      throw new ConfigurationError(`sqlite: needs the path of the database file; ${ACCEPTED}`);
    }
    if (path === ':memory:') {
      throw new ConfigurationError(
        `sqlite::memory: would lose every key when the process ends: give a file path; ${ACCEPTED}`,
      );
    }
    const base = baseDirectory(options, env);
    return { kind: 'sqlite', filename: isAbsolute(path) ? resolve(path) : resolve(base, path) };
  }
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      // The value may hold a password: say what is wrong without repeating it.
      throw new ConfigurationError(`the PostgreSQL URL does not parse; ${ACCEPTED}`);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) {
      throw new ConfigurationError(`the PostgreSQL URL names no host; ${ACCEPTED}`);
    }
    const schemas = url.searchParams.getAll('schema');
    if (schemas.length > 1) {
      throw new ConfigurationError('the PostgreSQL URL names more than one schema');
    }
    url.searchParams.delete('schema');
    const schema = schemas[0];
    if (schema === undefined) return { kind: 'postgres', url: url.toString() };
    return { kind: 'postgres', url: url.toString(), schema: validateSchemaName(schema) };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1];
  throw new ConfigurationError(
    scheme === undefined
      ? `the store must start with sqlite: or postgres://; ${ACCEPTED}`
      : `unknown store kind "${scheme}:"; ${ACCEPTED}`,
  );
}

/**
 * The store to use: `flag` (a `--store` value) if given, else `ORKESTA_AUTH_STORE` from `env`,
 * else `sqlite:.orkesta/keys.db`. Relative SQLite paths resolve against `options.cwd`, else
 * `env.INIT_CWD`, else the current directory.
 */
export function resolveStoreSpec(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  options?: StoreSpecOptions,
): StoreSpec {
  const fromEnv = env[STORE_ENV];
  const value =
    flag !== undefined ? flag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
  return parseWith(value ?? DEFAULT_STORE_SPEC, options, env);
}

/** The spec's URL password, in every spelling a message could carry it; none for SQLite. */
export function secretsOf(spec: StoreSpec): string[] {
  if (spec.kind !== 'postgres') return [];
  const url = new URL(spec.url);
  const secrets = new Set<string>();
  for (const password of [url.password, url.searchParams.get('password') ?? '']) {
    if (password === '') continue;
    secrets.add(password);
    // The query parameter arrives decoded already; the user part still has its escapes.
    secrets.add(encodeURIComponent(password));
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // A malformed escape: the raw spelling is all there is.
    }
  }
  return [...secrets];
}

/** `text` with every spelling of the spec's password replaced by `***`. */
export function redact(text: string, spec: StoreSpec | undefined): string {
  if (spec === undefined) return text;
  let out = text;
  for (const secret of secretsOf(spec)) out = out.replaceAll(secret, '***');
  return out;
}

/** How messages name the store: the file, or the URL with its password as `***`. */
export function storeLabel(spec: StoreSpec): string {
  if (spec.kind === 'sqlite') return `sqlite:${spec.filename}`;
  const url = new URL(spec.url);
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  if (spec.schema !== undefined) url.searchParams.set('schema', spec.schema);
  return url.toString();
}
