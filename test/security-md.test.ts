import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const securityMd = readFileSync(new URL('SECURITY.md', root), 'utf8');

/** Every file SECURITY.md names in code spans: `path/to/file.test.ts`, `bench/x.mjs`. */
const named = [...securityMd.matchAll(/`([\w./-]+\.(?:test\.ts|mjs))`/g)].map((m) => m[1]!);
const tests = [...new Set(named.filter((path) => path.endsWith('.test.ts')))];

describe('SECURITY.md', () => {
  it('names test files for its threat model', () => {
    expect(tests.length).toBeGreaterThanOrEqual(20);
  });

  it.each([...new Set(named)])('names %s, which exists', (path) => {
    expect(existsSync(new URL(path, root)), path).toBe(true);
  });

  it('gives every threat in its table at least one test file that proves it', () => {
    const table = securityMd.split('## Threat model')[1]!.split('\n## ')[0]!;
    const rows = table
      .split('\n')
      .filter((line) => line.startsWith('| ') && !/^\| (what|---)/.test(line));
    expect(rows.length).toBeGreaterThanOrEqual(15);
    for (const row of rows) {
      const proof = row.split(/(?<!\\)\|/).at(-2) ?? '';
      expect(proof, row).toMatch(/`[\w./-]+\.test\.ts`/);
    }
  });

  it('says how to report a vulnerability and what the library does not protect against', () => {
    expect(securityMd).toContain('## Reporting a vulnerability');
    expect(securityMd).toContain('## What the library does not protect against');
  });
});
