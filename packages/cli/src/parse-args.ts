import { parseArgs } from 'node:util';
import { describeError } from '@orkesta/auth-store-postgres';
import { COMMANDS, type CommandSpec, GLOBAL_OPTIONS, parseConfig } from './commands.js';
import { parseDuration, UsageError } from './values.js';

/** The options of a command line, by name: a string, `true` for a flag, or absent. */
export type Values = Record<string, string | boolean | undefined>;

/**
 * The command the words of `argv` name, read loosely (unknown options taken as flags): which
 * command's help a usage error should point to, before the strict reading has succeeded.
 */
export function guessCommand(argv: readonly string[]): CommandSpec | undefined {
  const { positionals } = parseArgs({
    args: [...argv],
    options: parseConfig(),
    allowPositionals: true,
    strict: false,
  });
  const words = positionals[0] === 'help' ? positionals.slice(1) : positionals;
  return COMMANDS.find((c) => c.path.every((word, i) => words[i] === word));
}

/**
 * What parseArgs threw, as a UsageError in our words. A value that starts with '-' (`--ttl -5d`)
 * is read by parseArgs as another option: a duration is checked as one (there are no negative
 * ones), anything else is told how to give such a value.
 */
export function parseArgsError(error: unknown, argv: readonly string[]): UsageError {
  const message = describeError(error);
  const ambiguous = /^Option '(?:-\w, )?--([\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous !== null) {
    const name = ambiguous[1]!;
    const value = argv[argv.indexOf(`--${name}`) + 1] ?? '';
    if (name === 'ttl' || name === 'overlap') {
      try {
        parseDuration(value, `--${name}`, Number.MAX_SAFE_INTEGER, '');
      } catch (refused) {
        if (refused instanceof UsageError) return refused;
      }
    }
    return new UsageError(
      `--${name} ${JSON.stringify(value)}: a value that starts with "-" is given as --${name}=${value}`,
      { cause: error },
    );
  }
  // parseArgs goes on about positionals that start with '-': its first sentence says it all.
  return new UsageError(message.split(/\.\s/)[0]!.replace(/\.$/, ''), { cause: error });
}

/** Reads the command line: the command, its positional argument and its options. */
export function parseCommandLine(argv: readonly string[]): {
  command: CommandSpec | undefined;
  group: string | undefined;
  values: Values;
  rest: string[];
} {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseConfig(),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw parseArgsError(error, argv);
  }
  const values: Values = {};
  for (const [name, given] of Object.entries(parsed.values)) {
    const list = given as readonly (string | boolean)[];
    if (list.length > 1) throw new UsageError(`--${name} is given more than once`);
    values[name] = list[0];
  }
  const words = [...parsed.positionals];
  if (words[0] === 'help') {
    words.shift();
    values.help = true;
  }
  const [first, second] = words;
  if (first === undefined) return { command: undefined, group: undefined, values, rest: [] };
  const topLevel = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  if (topLevel !== undefined) {
    return { command: topLevel, group: undefined, values, rest: words.slice(1) };
  }
  const group = COMMANDS.filter((c) => c.path[0] === first);
  // `help revoke`, `revoke --help`: the one command whose last word it is.
  const byLastWord = COMMANDS.filter((c) => c.path.length > 1 && c.path.at(-1) === first);
  if (group.length === 0 && byLastWord.length === 1) {
    const [command] = byLastWord as [CommandSpec];
    if (values.help === true) return { command, group: undefined, values, rest: words.slice(1) };
    throw new UsageError(`unknown command "${first}"; did you mean "${command.path.join(' ')}"?`);
  }
  if (group.length === 0) {
    throw new UsageError(
      `unknown command "${first}"; the commands are ${[...new Set(COMMANDS.map((c) => c.path[0]))].join(', ')}`,
    );
  }
  if (second === undefined) return { command: undefined, group: first, values, rest: [] };
  const command = group.find((c) => c.path[1] === second);
  if (command === undefined) {
    throw new UsageError(
      `unknown command "${first} ${second}"; the ${first} commands are ${group.map((c) => c.path[1]).join(', ')}`,
    );
  }
  return { command, group: undefined, values, rest: words.slice(2) };
}

export function text(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function required(values: Values, name: string): string {
  const value = text(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** Refuses options the command does not take, and checks its positional argument. */
export function checkShape(
  command: CommandSpec,
  values: Values,
  rest: readonly string[],
): string | undefined {
  const allowed = new Set([...command.options, ...GLOBAL_OPTIONS].map((o) => o.name));
  for (const name of Object.keys(values)) {
    if (!allowed.has(name)) {
      throw new UsageError(`--${name} is not an option of ${command.path.join(' ')}`);
    }
  }
  if (command.argument === undefined) {
    if (rest.length > 0) {
      // The argument is not repeated: it may be a key typed where it does not belong.
      throw new UsageError(
        `${command.path.join(' ')} takes no argument (got ${rest.length})${command.path.at(-1) === 'verify' ? ': the key goes on stdin, never on the command line' : ''}`,
      );
    }
    return undefined;
  }
  if (rest.length === 0)
    throw new UsageError(`${command.path.join(' ')} needs the key's ${command.argument}`);
  if (rest.length > 1)
    throw new UsageError(`${command.path.join(' ')} takes one ${command.argument}`);
  return rest[0];
}
