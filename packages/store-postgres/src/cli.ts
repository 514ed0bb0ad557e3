#!/usr/bin/env node
/**
 * orkesta-auth-postgres: runs the schema migrations of @orkesta/auth-store-postgres.
 *
 *   orkesta-auth-postgres migrate [--url URL] [--schema NAME] [--json]
 *
 * Exit codes: 0 done (or already up to date), 1 the migration failed (database unreachable,
 * refused, or a schema newer than this package), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { ConfigurationError } from '@orkesta/auth';
import { describeError } from './errors.js';
import { DEFAULT_SCHEMA, validateSchemaName } from './identifiers.js';
import { migrate } from './migrations.js';

const NAME = 'orkesta-auth-postgres';

const HELP = `Usage: ${NAME} migrate [--url URL] [--schema NAME] [--json]

Creates or upgrades the PostgreSQL schema of @orkesta/auth-store-postgres. Each
migration runs once, in its own transaction, under an advisory lock: running it
again, or from several machines at once, is safe.

Options:
  --url URL        postgres:// connection URL (default: the DATABASE_URL variable)
  --schema NAME    schema to migrate (default: ${DEFAULT_SCHEMA})
  --json           print the result as JSON: {"schema","applied","version"}
  -h, --help       show this help

Exit codes:
  0  migrated, or already up to date
  1  the migration failed (database unreachable, refused, or schema too new)
  2  bad usage
`;

class UsageError extends Error {}

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** Every spelling of the URL's password, so that no message can echo it. */
function secretsOf(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const parsed = new URL(url);
    // pg takes a password in the user info or as ?password=…: hide both.
    const passwords = [parsed.password, parsed.searchParams.get('password') ?? ''].filter(
      (password) => password !== '',
    );
    return [...new Set(passwords.flatMap((password) => [password, decodeURIComponent(password)]))];
  } catch {
    // Not a URL that parses: hide the whole value rather than guess where a password is.
    return [url];
  }
}

function oneLine(message: string, secrets: readonly string[]): string {
  let line = message.replace(/\s+/g, ' ').trim();
  for (const secret of secrets) line = line.replaceAll(secret, '***');
  return line;
}

async function main(argv: readonly string[], io: Io): Promise<number> {
  let url: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        schema: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(HELP);
      return 0;
    }
    const [command, ...rest] = positionals;
    if (command !== 'migrate' || rest.length > 0) {
      throw new UsageError(
        command === undefined
          ? `a command is required: ${NAME} migrate`
          : `unknown command "${[command, ...rest].join(' ')}": the only command is migrate`,
      );
    }
    url = values.url ?? io.env.DATABASE_URL;
    if (url === undefined || url === '') {
      throw new UsageError('no database: pass --url postgres://… or set DATABASE_URL');
    }
    let schema: string;
    try {
      schema = validateSchemaName(values.schema);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const result = await migrate({ connectionString: url, schema });
    if (values.json) {
      io.stdout(`${JSON.stringify(result)}\n`);
    } else if (result.applied.length === 0) {
      io.stdout(`schema ${result.schema} is up to date (version ${result.version})\n`);
    } else {
      io.stdout(
        `schema ${result.schema}: applied version${result.applied.length === 1 ? '' : 's'} ${result.applied.join(', ')}; now at version ${result.version}\n`,
      );
    }
    return 0;
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      (error as { code?: unknown } | null)?.code?.toString().startsWith('ERR_PARSE_ARGS') === true;
    // parseArgs explains at length how to pass a value that starts with '-': its first sentence says it.
    const message = usage ? describeError(error).split(/\.\s/)[0]! : describeError(error);
    const secrets = secretsOf(url);
    if (usage) {
      io.stderr(`${NAME}: ${oneLine(message, secrets)} (see --help)\n`);
      return 2;
    }
    const prefix = error instanceof ConfigurationError ? 'configuration' : 'migration failed';
    io.stderr(`${NAME}: ${prefix}: ${oneLine(message, secrets)}\n`);
    return 1;
  }
}

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `${NAME}: unexpected failure: ${error instanceof Error ? error.name : 'error'}\n`,
    );
    process.exitCode = 1;
  },
);
