import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/index.js';
import { assertBuilt } from './helpers.js';

describe('packaging', () => {
  it('loads from a CommonJS file with require(), and works', () => {
    assertBuilt();
    const cjs = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    const out = execFileSync(process.execPath, [cjs], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      SqliteKeyStore: 'function',
      openSqliteKeyStore: 'function',
      SCHEMA_VERSION,
      found: null,
    });
  });
});
