import { REDIS_ENV } from './redis.js';
import { DEFAULT_STORE_SPEC, STORE_ENV } from './store-spec.js';

/** The program's name, as users type it. */
export const PROGRAM = 'orkesta-auth';

/** An option a command takes. */
export interface OptionSpec {
  readonly name: string;
  /** The value's placeholder; absent for a flag. */
  readonly value?: string;
  readonly short?: string;
  readonly description: string;
}

/** A command: the words that name it, what it takes, and what it does. */
export interface CommandSpec {
  /** The words after the program's name, e.g. `['keys', 'create']`. */
  readonly path: readonly string[];
  /** The rest of the usage line, after the command's words and before `[options]`. */
  readonly usage: string;
  /** One line, for the command lists. */
  readonly summary: string;
  /** A few sentences, for the command's own help. */
  readonly description: string;
  /** The positional argument it takes, if any. */
  readonly argument?: string;
  readonly options: readonly OptionSpec[];
}

/** What the process's exit status means, for every command. */
export const EXIT_CODES = [
  { code: 0, meaning: 'done; for keys verify, the key is valid' },
  {
    code: 1,
    meaning:
      'refused: no such key, a key that is not active; for keys verify, the key is not valid',
  },
  { code: 2, meaning: 'usage: unknown command or option, a missing or bad value' },
  {
    code: 3,
    meaning:
      'the store cannot be used (unreachable, not migrated, not a key store, failing, closed), or the CLI is not built',
  },
] as const;

export type ExitCode = (typeof EXIT_CODES)[number]['code'];
export const EXIT_OK: ExitCode = 0;
export const EXIT_REFUSED: ExitCode = 1;
export const EXIT_USAGE: ExitCode = 2;
export const EXIT_STORE: ExitCode = 3;

/** Options every command takes. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'store',
    value: 'SPEC',
    description: `the key store: sqlite:PATH or postgres://USER@HOST/DB[?schema=NAME] (default: $${STORE_ENV}, else ${DEFAULT_STORE_SPEC}); a relative PATH is taken from the directory you ran the command in`,
  },
  { name: 'json', description: 'print the result as JSON on stdout, for scripts' },
  { name: 'help', short: 'h', description: 'show this help' },
];

/** Only without a command: the package's version. */
export const VERSION_OPTION: OptionSpec = { name: 'version', description: 'print the version' };

const WORKSPACE_GUARD: OptionSpec = {
  name: 'workspace',
  value: 'W',
  description: 'act only if the key belongs to workspace W (a key of another is "not found")',
};

/** The `--ttl` and `--overlap` units. */
export const DURATION_UNITS = 's (seconds), m (minutes), h (hours), d (days)';

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['keys', 'create'],
    usage:
      '--workspace W --name N --scope S [--expires ISO-8601 | --ttl DURATION] [--environment live|test]',
    summary: 'issue a key and print it, once',
    description:
      'Issues an API key for a workspace and prints it. This is the only time the key is shown: the store keeps a hash of it, never the key itself.',
    options: [
      { name: 'workspace', value: 'W', description: 'the workspace the key belongs to (required)' },
      {
        name: 'name',
        value: 'N',
        description: 'what the key is for, e.g. production-erp-integration (required)',
      },
      {
        name: 'scope',
        value: 'S',
        description: 'read-only, read-write or admin (required)',
      },
      {
        name: 'expires',
        value: 'ISO-8601',
        description:
          'when the key stops working: a date (2030-01-31, midnight UTC) or a date and time with Z or an offset (2030-01-31T12:00:00Z); in the future',
      },
      {
        name: 'ttl',
        value: 'DURATION',
        description: `or: how long the key works from now, e.g. 90d; units ${DURATION_UNITS}`,
      },
      {
        name: 'environment',
        value: 'live|test',
        description: 'the environment in the key (ork_live_… or ork_test_…); default live',
      },
    ],
  },
  {
    path: ['keys', 'list'],
    usage: '[--workspace W] [--status active|revoked|expired]',
    summary: 'list keys, newest first (never a secret)',
    description:
      'Lists keys, newest first: id, name, scope, status, created, expires and last used (and the workspace, unless --workspace picks one). Keys are never shown; there is nothing secret in the list.',
    options: [
      { name: 'workspace', value: 'W', description: 'only the keys of workspace W' },
      {
        name: 'status',
        value: 'STATUS',
        description: 'only keys that are active, revoked or expired',
      },
    ],
  },
  {
    path: ['keys', 'show'],
    usage: 'ID [--workspace W]',
    argument: 'ID',
    summary: 'show one key (never its secret)',
    description:
      'Shows everything kept about one key but its hash: workspace, name, scope, environment, status, dates, the key it replaced, its own rate limit.',
    options: [WORKSPACE_GUARD],
  },
  {
    path: ['keys', 'revoke'],
    usage: 'ID [--workspace W]',
    argument: 'ID',
    summary: 'revoke a key at once',
    description:
      'Revokes a key. Authenticators on the same store refuse it within a second (api_key_revoked): the change is published on the store’s change feed. Revoking a revoked key changes nothing.',
    options: [WORKSPACE_GUARD],
  },
  {
    path: ['keys', 'rotate'],
    usage: 'ID [--overlap DURATION] [--workspace W]',
    argument: 'ID',
    summary: 'issue a successor, print it once, and retire the old key',
    description:
      'Issues a successor with the same workspace, name, scope and rate, prints it once, and makes the old key expire after the overlap, so clients can switch without a failed request. The successor lives as long as the old key did from its creation (or forever, if it had no expiry). A key inside its overlap (its successor is active) is not rotated again (api_key_already_rotated, exit 1): rotate the successor, or revoke the old key to end the overlap now.',
    options: [
      {
        name: 'overlap',
        value: 'DURATION',
        description: `how long the old key keeps working, e.g. 24h; units ${DURATION_UNITS}; at most 366d; default 0 (it stops at once), which may also be given as 0`,
      },
      WORKSPACE_GUARD,
    ],
  },
  {
    path: ['keys', 'verify'],
    usage: '[--workspace W] [--scope S] < key',
    summary: 'check a key read from stdin',
    description:
      'Reads a key from the first line of stdin and checks it the way an API would (HTTPS assumed, no cache): prints whether it is valid and, if not, the contract code (invalid_api_key, api_key_revoked, api_key_expired, malformed_authorization_header, workspace_mismatch, insufficient_scope). The key itself is never printed.',
    options: [
      { name: 'workspace', value: 'W', description: 'also require the key to belong to W' },
      { name: 'scope', value: 'S', description: 'also require scope S or higher' },
    ],
  },
  {
    path: ['migrate'],
    usage: '',
    summary: 'create or upgrade the tables of the SQL store',
    description:
      'Brings the store to the schema this version needs and reports the versions applied. A SQLite file migrates whenever it is opened (this reports it); a PostgreSQL schema only here, each migration once, under an advisory lock, so running it twice or from several machines is safe.',
    options: [],
  },
];

/** Every option any command takes, by name: what parseArgs is given. */
export function parseConfig(): Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple: true }
> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple: true }> = {};
  for (const option of [...GLOBAL_OPTIONS, VERSION_OPTION, ...COMMANDS.flatMap((c) => c.options)]) {
    config[option.name] = {
      type: option.value === undefined ? 'boolean' : 'string',
      multiple: true,
      ...(option.short === undefined ? {} : { short: option.short }),
    };
  }
  return config;
}

/** `orkesta-auth keys create --workspace W …`: the command's usage line. */
export function usageLine(command: CommandSpec): string {
  return [PROGRAM, ...command.path, command.usage, '[--store SPEC] [--json]']
    .filter((part) => part !== '')
    .join(' ');
}

function optionLabel(option: OptionSpec): string {
  const long = `--${option.name}${option.value === undefined ? '' : ` ${option.value}`}`;
  return option.short === undefined ? long : `-${option.short}, ${long}`;
}

/** Help lines are wrapped at this width. */
const WIDTH = 100;

/** `text` in lines of at most WIDTH characters, each after `indent` spaces but the first. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Two columns: the label, then the text wrapped under itself. */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length)) + 4;
  return rows.map(([label, text]) => `  ${label.padEnd(width - 2)}${wrap(text, width)}`);
}

function optionLines(options: readonly OptionSpec[]): string[] {
  return columns(options.map((o) => [optionLabel(o), o.description]));
}

function exitCodeLines(): string[] {
  return columns(EXIT_CODES.map(({ code, meaning }) => [String(code), meaning]));
}

function commandLines(commands: readonly CommandSpec[]): string[] {
  return columns(commands.map((c) => [c.path.join(' '), c.summary]));
}

/** The program's help: its commands, common options and exit codes. */
export function programHelp(): string {
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    wrap(
      'Issues, lists, revokes, rotates and verifies the API keys of @orkesta/auth in a SQLite file or PostgreSQL.',
      0,
    ),
    '',
    'Commands:',
    ...commandLines(COMMANDS),
    '',
    'Options of every command:',
    ...optionLines([...GLOBAL_OPTIONS, VERSION_OPTION]),
    '',
    'Environment:',
    `  ${STORE_ENV}  the key store when --store is not given`,
    `  ${REDIS_ENV}  redis://HOST:PORT[/DB]: every change also goes out over Redis, to the instances listening there (the demo given the same variable); Redis away is a warning, not a failure`,
    '',
    'Exit codes:',
    ...exitCodeLines(),
    '',
    'Errors go to stderr, one line each.',
    `Run ${PROGRAM} <command> --help for a command's options.`,
    '',
  ].join('\n');
}

/** The help of a group of commands (`keys`). */
export function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.path[0] === group && c.path.length > 1);
  return [
    `Usage: ${PROGRAM} ${group} <command> [options]`,
    '',
    'Commands:',
    ...commandLines(commands),
    '',
    `Run ${PROGRAM} ${group} <command> --help for a command's options.`,
    '',
  ].join('\n');
}

/** A command's own help. */
export function commandHelp(command: CommandSpec): string {
  return [
    `Usage: ${usageLine(command)}`,
    '',
    wrap(command.description, 0),
    '',
    'Options:',
    ...optionLines([...command.options, ...GLOBAL_OPTIONS]),
    '',
    'Environment:',
    `  ${STORE_ENV}  the key store when --store is not given`,
    `  ${REDIS_ENV}  redis://HOST:PORT[/DB]: every change also goes out over Redis, to the instances listening there (the demo given the same variable); Redis away is a warning, not a failure`,
    '',
    'Exit codes:',
    ...exitCodeLines(),
    '',
  ].join('\n');
}
