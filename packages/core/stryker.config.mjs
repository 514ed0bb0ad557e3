// Mutation testing of the core: `pnpm test:mutation` from the repository root. Stryker changes
// one expression of the source at a time (a mutant) and runs the tests that cover it; a mutant
// no test notices "survives". scripts/mutation-report.mjs turns the run into MUTATION.md.
//
// Found on this toolchain (Node 20, TypeScript 7, pnpm):
// - Stryker 10 refuses Node 20; 9.6.1 runs on it.
// - TypeScript 7 has no JS API: no checker plugin, and `tsconfigFile` names no file, so that
//   Stryker does not try to rewrite a tsconfig in its sandbox.
// - pnpm keeps the runner plugin out of Stryker's own lookup: it is named in `plugins`.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts' },
  coverageAnalysis: 'perTest',
  tsconfigFile: 'no-tsconfig-for-stryker.json',
  // Left out of the sandbox: its relative \`extends\` would point nowhere there. Vite then takes
  // this package's own tsconfig.json, the nearest one above the sandbox.
  ignorePatterns: ['tsconfig.json', 'dist', 'reports'],
  mutate: [
    'src/**/*.ts',
    // Lists of names and types, and the conformance kit (tested by the stores that run it).
    '!src/index.ts',
    '!src/adapter.ts',
    '!src/store.ts',
    '!src/testing.ts',
    '!src/testing/**',
    '!src/store-types.ts',
  ],
  ignoreStatic: true,
  incremental: true,
  // Kept between local runs (reports/ is not checked in: it holds megabytes per run); a rerun
  // tests again only the mutants whose code or covering tests changed.
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['json', 'progress', 'clear-text'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
