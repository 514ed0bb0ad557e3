import { ConfigurationError } from './errors.js';

/**
 * Refuses an options object that carries a key it does not know: a misspelt option is never
 * ignored, since an ignored `workspce` or `requireHTTPS` turns a check off without a word. The
 * error names the first unknown key and the closest known one (`unknown option "workspce"; did
 * you mean "workspace"?`), and carries both as `option` and `suggestion`. `path` prefixes the
 * names of a nested object (`cache` gives `cache.ttl`). Every options object of every package
 * goes through here, once, where it is created.
 */
export function rejectUnknownOptions(
  options: object,
  known: readonly string[],
  path?: string,
): void {
  rejectUnknownNames(Object.keys(options), known, path);
}

/** `rejectUnknownOptions` for names gathered otherwise (a hooks object's methods, say). */
export function rejectUnknownNames(
  names: readonly string[],
  known: readonly string[],
  path?: string,
): void {
  for (const name of names) {
    if (known.includes(name)) continue;
    const qualified = (key: string) => (path === undefined ? key : `${path}.${key}`);
    const suggestion = closestName(name, known);
    const hint =
      suggestion === undefined
        ? `the options are ${known.map((key) => `"${key}"`).join(', ')}`
        : `did you mean "${qualified(suggestion)}"?`;
    throw new ConfigurationError(`unknown option "${qualified(name)}"; ${hint}`, {
      option: qualified(name),
      ...(suggestion === undefined ? {} : { suggestion: qualified(suggestion) }),
    });
  }
}

/**
 * `value` as an options object (`{}` when undefined), refusing anything else and any unknown
 * key; see `rejectUnknownOptions`. `what` describes the expected shape for the error message.
 */
export function optionsObject<T extends object>(
  value: T | undefined,
  known: readonly string[],
  path: string | undefined,
  what: string,
): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${path ?? 'the options'} must be ${what}`);
  }
  rejectUnknownOptions(value, known, path);
  return value;
}

/**
 * The known name a mistyped `name` most likely meant: equal but for case, within a few edits
 * (insertions, deletions, substitutions, swaps of neighbours) for its length, or the start of
 * one (`ttl` for `ttlMs`, `maxAge` for `maxAgeSeconds`). `undefined` when none is that close.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const typed = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.floor(name.length / 3));
  if (bestDistance <= allowed) return best;
  if (typed.length < 3) return undefined;
  const extended = known.filter((candidate) => candidate.toLowerCase().startsWith(typed));
  return extended.sort((a, b) => a.length - b.length)[0];
}

/** Optimal string alignment distance: Levenshtein with transpositions of neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      }
      row.push(distance);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}
