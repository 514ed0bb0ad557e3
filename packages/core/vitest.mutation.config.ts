import { defineConfig } from 'vitest/config';

// The core's own tests, for the mutation run (stryker.config.mjs): Stryker copies this package
// into a sandbox and runs them there against each mutant. The root config runs every package's
// tests from the repository root, which a sandbox of this package does not have.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // It checks the README against the source files, whose length Stryker's instrumentation
    // changes (every mutant is compiled in): a test of the docs, not of behaviour.
    exclude: ['test/readme.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
