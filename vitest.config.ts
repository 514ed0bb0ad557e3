import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `source`
// export condition, so the suite runs without a build. Not Vite's `module`: vitest hands these
// conditions to Node for external packages too, and `module` sends @opentelemetry/api to its
// bundler build, whose extensionless imports Node cannot load.
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/test/**/*.test.mjs',
    ],
    environment: 'node',
    // Under CI a JSON report as well, from which .ci/run prints the closing count.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.ci/results.json' }]]
      : ['default'],
    testTimeout: 20_000,
    coverage: {
      provider: 'v8',
      include: ['packages/core/src/**/*.ts'],
      thresholds: { lines: 98, functions: 98, branches: 95, statements: 98 },
    },
  },
});
