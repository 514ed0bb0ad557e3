import { readFileSync } from 'node:fs';
import {
  type ApiKeyInfo,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  type IssuedKey,
  KEY_ENVIRONMENTS,
  type KeyChangeFeed,
  KeyManagementError,
  type KeyManager,
  type KeyStatus,
  type KeyStore,
  keyKind,
  keyNotFoundError,
  SCOPES,
  StoreClosedError,
} from '@orkesta/auth';
import { describeError } from '@orkesta/auth-store-postgres';
import {
  COMMANDS,
  type CommandSpec,
  commandHelp,
  EXIT_OK,
  EXIT_REFUSED,
  EXIT_STORE,
  EXIT_USAGE,
  type ExitCode,
  groupHelp,
  PROGRAM,
  programHelp,
} from './commands.js';
import { keyDetails, keyJson, keyTable, LAST_USED_NOTE, when } from './format.js';
import { migrateKeyStore, openKeyStore, StoreOpenError } from './open-store.js';
import {
  checkShape,
  guessCommand,
  parseCommandLine,
  required,
  text,
  type Values,
} from './parse-args.js';
import { openRedis, resolveRedisUrl } from './redis.js';
import { redact, resolveStoreSpec, type StoreSpec } from './store-spec.js';
import { longestTtl, oneOf, parseDuration, parseFutureInstant, UsageError } from './values.js';

/** What the CLI needs of its process; tests and embedders give their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** The first line of stdin, or `undefined` if it ends first (`keys verify`). */
  readonly readLine: () => Promise<string | undefined>;
}

/** The longest overlap `KeyManager.rotate` accepts: 366 days. */
const MAX_OVERLAP_MS = 366 * 86_400_000;
const STATUSES: readonly KeyStatus[] = ['active', 'revoked', 'expired'];
/** `keys list` pages through the store this many keys at a time. */
const PAGE_SIZE = 1_000;

/** A feed that hears nothing: `keys verify` has no cache to keep fresh. */
const NO_FEED: KeyChangeFeed = { publish: () => {}, subscribe: () => () => {} };

interface Context {
  readonly command: CommandSpec;
  readonly values: Values;
  readonly argument: string | undefined;
  readonly json: boolean;
  readonly io: CliIo;
  /** When the command started, in epoch ms: the instant every date it writes is judged at. */
  readonly now: number;
  /** The spec, once resolved: messages are redacted with it. */
  spec: StoreSpec | undefined;
}

/** A failure of the store while it was in use (not while opening it): exit 3. */
class StoreFailure extends Error {}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String((manifest as { version?: unknown }).version);
}

function guard(values: Values): { workspaceId?: string } {
  const workspaceId = text(values, 'workspace');
  return workspaceId === undefined ? {} : { workspaceId };
}

/** A store call that may fail for reasons of the store, not of the request: exit 3. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // A closed store is reported as itself (exit 3, see `failure`).
    if (error instanceof KeyManagementError || error instanceof StoreClosedError) throw error;
    throw new StoreFailure(`the key store failed: ${describeError(error)}`, { cause: error });
  }
}

/** Opens the store the context names, runs `use` with it, and closes it. */
async function withStore<T>(
  context: Context,
  use: (store: KeyStore, keys: KeyManager) => Promise<T>,
): Promise<T> {
  const spec = resolveSpec(context);
  const redisUrl = resolveRedisUrl(context.io.env);
  const opened = await openKeyStore(spec);
  // With ORKESTA_AUTH_REDIS, changes also go out over Redis, to instances that listen there.
  // Redis away is no reason to fail a command whose change is saved: one warning line says so.
  const redis =
    redisUrl === undefined
      ? undefined
      : openRedis(redisUrl, () => {
          // Connection errors surface as the publish failure below, once.
        });
  try {
    // One instant for the whole command: a key made with --ttl 90d lives exactly 90 days from
    // its createdAt, and "already revoked" means revoked before this command.
    const now = context.now;
    const keys = createKeyManager({
      store: opened.store,
      now: () => now,
      ...(redis === undefined
        ? {}
        : {
            changeFeed: redis.changesWith(opened.store.changes),
            onError: (error: unknown, { keyIds }: { keyIds: readonly string[] }) => {
              context.io.stderr(
                `${PROGRAM}: warning: the change to ${keyIds.join(', ')} is saved, but not every instance could be told (the store's feed and Redis at ${redis.label}): ${oneLine(describeError(error), spec)}; instances that were not see it when their cache entries end\n`,
              );
            },
          }),
    });
    return await use(opened.store, keys);
  } finally {
    await redis?.close().catch(() => {});
    await opened.close().catch(() => {});
  }
}

function resolveSpec(context: Context): StoreSpec {
  const spec = resolveStoreSpec(text(context.values, 'store'), context.io.env);
  context.spec = spec;
  return spec;
}

function print(context: Context, json: unknown, human: string): void {
  context.io.stdout(context.json ? `${JSON.stringify(json, null, 2)}\n` : human);
}

function issuedJson(issued: IssuedKey): Record<string, unknown> {
  const { id, ...rest } = keyJson(issued.record);
  return { id, key: issued.key, ...rest };
}

const ONCE_NOTICE =
  'Copy it now: it will not be shown again. The store keeps only a hash of it; a lost key cannot be recovered, only rotated or revoked.';

function expiry(info: ApiKeyInfo): string {
  return info.expiresAt === null ? 'no expiry' : `expires ${when(info.expiresAt)}`;
}

async function create(context: Context): Promise<ExitCode> {
  const { values } = context;
  const workspaceId = required(values, 'workspace');
  const name = required(values, 'name');
  const scope = oneOf(required(values, 'scope'), SCOPES, '--scope');
  const environment = oneOf(
    text(values, 'environment') ?? 'live',
    KEY_ENVIRONMENTS,
    '--environment',
  );
  const expires = text(values, 'expires');
  const ttl = text(values, 'ttl');
  if (expires !== undefined && ttl !== undefined) {
    throw new UsageError('give --expires or --ttl, not both');
  }
  const { now } = context;
  const expiresAt =
    expires !== undefined
      ? parseFutureInstant(expires, '--expires', now)
      : ttl !== undefined
        ? new Date(now + positive(parseTtl(ttl, now), '--ttl'))
        : null;
  const issued = await withStore(context, (_, keys) =>
    storeCall(() => keys.create({ workspaceId, name, scope, environment, expiresAt })),
  );
  const info = issued.record;
  print(
    context,
    issuedJson(issued),
    `Created API key ${info.id} "${info.name}" for workspace ${info.workspaceId}: scope ${info.scope}, ${expiry(info)}.\n\n    ${issued.key}\n\n${ONCE_NOTICE}\n`,
  );
  return EXIT_OK;
}

/** `--ttl`: a duration that ends no later than the last date a key's expiry can name. */
function parseTtl(value: string, now: number): number {
  const longest = longestTtl(now);
  return parseDuration(value, '--ttl', longest.ms, longest.text);
}

function positive(ms: number, flag: string): number {
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0`);
  return ms;
}

async function list(context: Context): Promise<ExitCode> {
  const { values } = context;
  const workspaceId = text(values, 'workspace');
  const statusFlag = text(values, 'status');
  const status = statusFlag === undefined ? undefined : oneOf(statusFlag, STATUSES, '--status');
  const items = await withStore(context, async (_, keys) => {
    const all: ApiKeyInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await storeCall(() =>
        keys.list({ workspaceId, status, cursor, limit: PAGE_SIZE }),
      );
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  });
  const filters = [
    status === undefined ? undefined : `${status} `,
    workspaceId === undefined ? undefined : `in workspace ${workspaceId}`,
  ];
  print(
    context,
    items.map(keyJson),
    items.length === 0
      ? `No ${filters[0] ?? ''}keys${filters[1] === undefined ? '' : ` ${filters[1]}`}.\n`
      : `${keyTable(items, workspaceId === undefined)}${LAST_USED_NOTE}`,
  );
  return EXIT_OK;
}

async function show(context: Context): Promise<ExitCode> {
  const id = context.argument!;
  const info = await withStore(context, (_, keys) =>
    storeCall(() => keys.get(id, guard(context.values))),
  );
  if (info === undefined) throw keyNotFoundError(id);
  print(
    context,
    keyJson(info),
    `${keyDetails(info)}${LAST_USED_NOTE.replace('LAST USED', 'last used')}`,
  );
  return EXIT_OK;
}

async function revoke(context: Context): Promise<ExitCode> {
  const id = context.argument!;
  const info = await withStore(context, (_, keys) =>
    storeCall(() => keys.revoke(id, guard(context.values))),
  );
  const already = info.revokedAt !== null && info.revokedAt.getTime() < context.now;
  print(
    context,
    keyJson(info),
    already
      ? `API key ${info.id} "${info.name}" was already revoked at ${when(info.revokedAt)}; nothing changed.\n`
      : `Revoked API key ${info.id} "${info.name}" of workspace ${info.workspaceId}. Servers on this store refuse it within a second (api_key_revoked).\n`,
  );
  return EXIT_OK;
}

async function rotate(context: Context): Promise<ExitCode> {
  const id = context.argument!;
  const overlapFlag = text(context.values, 'overlap');
  const overlapMs =
    overlapFlag === undefined ? 0 : parseDuration(overlapFlag, '--overlap', MAX_OVERLAP_MS, '366d');
  const { issued, previous } = await withStore(context, async (_, keys) => {
    const current = await storeCall(() => keys.get(id, guard(context.values)));
    // A signed key's successor must be signed with the issuer's private key, which the CLI
    // never holds: say where to rotate it rather than fail on a manager without signing keys.
    if (current?.kind === 'signed') {
      throw new UsageError(
        `key ${id} is a signed key: rotate it in the service that holds its signing keys (createKeyManager({ store, signing }).rotate); the CLI rotates opaque keys`,
      );
    }
    return storeCall(() => keys.rotate(id, { ...guard(context.values), overlapMs }));
  });
  const info = issued.record;
  const old =
    overlapMs === 0
      ? `The old key ${previous.id} stopped working now.`
      : `The old key ${previous.id} keeps working until ${when(previous.expiresAt)}.`;
  print(
    context,
    { ...issuedJson(issued), previous: keyJson(previous) },
    `Rotated API key ${previous.id}: its successor is ${info.id} "${info.name}" for workspace ${info.workspaceId}, scope ${info.scope}, ${expiry(info)}.\n\n    ${issued.key}\n\n${ONCE_NOTICE}\n${old}\n`,
  );
  return EXIT_OK;
}

async function verify(context: Context): Promise<ExitCode> {
  const { values, io } = context;
  const workspaceId = text(values, 'workspace');
  const scopeFlag = text(values, 'scope');
  const requiredScope = scopeFlag === undefined ? undefined : oneOf(scopeFlag, SCOPES, '--scope');
  const line = await io.readLine();
  const token = line?.trim() ?? '';
  if (token === '') {
    throw new UsageError('no key on stdin: pipe the key in, one line (keys verify < key.txt)');
  }
  // A signed key is verified against its issuer's JWKS, which the CLI is not told of: refusing
  // it as invalid would be a wrong answer, so say what the CLI checks instead.
  if (keyKind(token) === 'signed') {
    throw new UsageError(
      "that is a signed key (orks_…): verify it with an authenticator given signedKeys and the issuer's JWKS; keys verify checks opaque keys (ork_…)",
    );
  }
  let failure: unknown;
  const result = await withStore(context, async (store) => {
    const authenticator = createAuthenticator({
      store,
      // The store's answer now, and the contract's own codes: no cache, no throttle, no rate.
      cache: false,
      changeFeed: NO_FEED,
      failedAttempts: false,
      rateLimit: false,
      lastUsed: false,
      hooks: {
        onError(error) {
          failure ??= error;
        },
      },
    });
    try {
      return await authenticator.authenticate({
        authorization: `Bearer ${token}`,
        secure: true,
        workspaceId,
        requiredScope,
      });
    } finally {
      await authenticator.close();
    }
  });
  if (result.ok) {
    const { key } = result;
    print(
      context,
      {
        valid: true,
        keyId: key.keyId,
        workspaceId: key.workspaceId,
        scope: key.scope,
        environment: key.environment,
        expiresAt: key.expiresAt === null ? null : key.expiresAt.toISOString(),
      },
      `valid: API key ${key.keyId} of workspace ${key.workspaceId}, scope ${key.scope}, ${key.expiresAt === null ? 'no expiry' : `expires ${when(key.expiresAt)}`}\n`,
    );
    return EXIT_OK;
  }
  const { error } = result;
  if (error.code === 'auth_unavailable') {
    if (failure instanceof StoreClosedError) throw failure;
    throw new StoreFailure(
      `the key store failed: ${failure === undefined ? error.message : describeError(failure)}`,
    );
  }
  print(
    context,
    {
      valid: false,
      code: error.code,
      ...(error.keyId === undefined ? {} : { keyId: error.keyId }),
      detail: error.message,
    },
    `not valid: ${error.code}: ${error.message}\n`,
  );
  return EXIT_REFUSED;
}

async function migrate(context: Context): Promise<ExitCode> {
  const report = await migrateKeyStore(resolveSpec(context));
  const where =
    report.schema === undefined ? report.store : `${report.store} (schema ${report.schema})`;
  const done =
    report.applied.length === 0
      ? `${where} is up to date (version ${report.version})`
      : `${where}: applied version${report.applied.length === 1 ? '' : 's'} ${report.applied.join(', ')}; now at version ${report.version}`;
  print(
    context,
    report,
    `${done}\n${report.kind === 'sqlite' ? 'SQLite files also migrate whenever they are opened.\n' : ''}`,
  );
  return EXIT_OK;
}

const HANDLERS: Readonly<Record<string, (context: Context) => Promise<ExitCode>>> = {
  'keys create': create,
  'keys list': list,
  'keys show': show,
  'keys revoke': revoke,
  'keys rotate': rotate,
  'keys verify': verify,
  migrate,
};

/** One line, whitespace collapsed, without the store's password. */
function oneLine(message: string, spec: StoreSpec | undefined): string {
  return redact(message, spec).replace(/\s+/g, ' ').trim();
}

/** The exit code and stderr line for `error`. */
function failure(
  error: unknown,
  command: CommandSpec | undefined,
  spec: StoreSpec | undefined,
): { code: ExitCode; line: string } {
  const help = command === undefined ? PROGRAM : `${PROGRAM} ${command.path.join(' ')}`;
  // A store used after its end is not a usage mistake: the store cannot be used, exit 3.
  if (error instanceof StoreClosedError) {
    return { code: EXIT_STORE, line: `the key store failed: ${oneLine(error.message, spec)}` };
  }
  if (error instanceof UsageError || error instanceof ConfigurationError) {
    return { code: EXIT_USAGE, line: `${oneLine(error.message, spec)} (see ${help} --help)` };
  }
  if (error instanceof KeyManagementError) {
    const usage = error.code === 'invalid_key_parameters';
    return {
      code: usage ? EXIT_USAGE : EXIT_REFUSED,
      line: `${oneLine(error.message, spec)} (${error.code})${usage ? ` (see ${help} --help)` : ''}`,
    };
  }
  if (error instanceof StoreOpenError || error instanceof StoreFailure) {
    return { code: EXIT_STORE, line: oneLine(error.message, spec) };
  }
  return {
    code: EXIT_STORE,
    line: `unexpected failure: ${oneLine(describeError(error), spec)}`,
  };
}

/**
 * Runs the CLI on `argv` (the arguments after the program's name) and resolves to the exit code.
 * Results go to `io.stdout`; a failure is one line on `io.stderr`.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let command: CommandSpec | undefined;
  let context: Context | undefined;
  try {
    command = guessCommand(argv);
    const parsed = parseCommandLine(argv);
    command = parsed.command;
    const { values } = parsed;
    if (command === undefined) {
      if (values.help === true) {
        io.stdout(parsed.group === undefined ? programHelp() : groupHelp(parsed.group));
        return EXIT_OK;
      }
      if (parsed.group !== undefined) {
        throw new UsageError(
          `${parsed.group} needs a command: ${COMMANDS.filter((c) => c.path[0] === parsed.group)
            .map((c) => c.path[1])
            .join(', ')}`,
        );
      }
      if (values.version === true) {
        io.stdout(`${version()}\n`);
        return EXIT_OK;
      }
      throw new UsageError('a command is required');
    }
    if (values.help === true) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    const argument = checkShape(command, values, parsed.rest);
    context = {
      command,
      values,
      argument,
      json: values.json === true,
      io,
      now: Date.now(),
      spec: undefined,
    };
    return await HANDLERS[command.path.join(' ')]!(context);
  } catch (error) {
    const { code, line } = failure(error, command, context?.spec);
    io.stderr(`${PROGRAM}: ${line}\n`);
    return code;
  }
}
