// `pnpm orkesta-auth …` at the repository root: runs the built CLI (packages/cli), or says in one
// line how to build it. Output is the CLI's own: pnpm writes its "$ node …" banner to stderr, so
// `pnpm orkesta-auth keys list --json` prints nothing but the JSON on stdout.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const needed = [
  'packages/cli/dist/bin.js',
  'packages/core/dist/index.js',
  'packages/store-sqlite/dist/index.js',
  'packages/store-postgres/dist/index.js',
];
if (needed.some((file) => !existsSync(new URL(file, root)))) {
  process.stderr.write(
    'orkesta-auth: the CLI is not built yet: run `pnpm build` (or `pnpm start`, which builds) first\n',
  );
  // 3, as when the store cannot be used: 1 would read as "invalid key" to `keys verify` scripts.
  process.exitCode = 3;
} else {
  await import(new URL('packages/cli/dist/bin.js', root).href);
}
