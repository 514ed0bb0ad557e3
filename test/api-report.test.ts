import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the API report (packages/*/api-report.md)', () => {
  beforeAll(() => {
    // The report is read from the built declarations: build what the sources say now.
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root });
  }, 120_000);

  it('matches the public surface of every entry point, name by name (pnpm api:report rewrites it)', () => {
    const check = spawnSync(process.execPath, ['scripts/api-report.mjs'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
  });
});
