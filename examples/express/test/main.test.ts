import { fileURLToPath } from 'node:url';
import { migrateKeyStore, openKeyStore, parseStoreSpec } from '@orkesta/auth-cli';
import { createKeyManager } from '@orkesta/auth-express';
import {
  describeDemoMain,
  KEY_PATTERN,
  runCurlLines,
  runToEnd,
  spawnDemo,
} from '@orkesta/example-shared/testing';
import { describe, expect, it } from 'vitest';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';
import { freshSchemas } from './postgres-schemas.js';

const mainFile = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const postgres = await serviceAvailable('postgres');
const redis = await serviceAvailable('redis');

// `pnpm start` is the README's first command.
describeDemoMain('Express', mainFile, 'start', { redisUrl: redis ? REDIS_URL : undefined });

describe.runIf(postgres)('the Express demo on PostgreSQL (ORKESTA_AUTH_STORE=postgres://…)', () => {
  const storeFor = freshSchemas('demo');

  it('on a fresh, migrated schema: mints, serves, and hears a revocation made elsewhere within a second', async () => {
    const store = storeFor();
    const spec = parseStoreSpec(store);
    expect((await migrateKeyStore(spec)).applied.length).toBeGreaterThan(0);

    const demo = await spawnDemo(['node', mainFile], { ORKESTA_AUTH_STORE: store, PORT: '0' });
    const other = await openKeyStore(spec);
    try {
      const output = demo.output();
      expect(output).toContain(`Key store: ${store}`);
      expect(output).not.toContain('--store');
      expect(output).toContain('with the same ORKESTA_AUTH_STORE');
      const readOnly = /read-only\s+(ork_\S+)/.exec(output)?.[1] ?? '';
      expect(readOnly).toMatch(KEY_PATTERN);
      expect(await runCurlLines(output)).toEqual([
        [200, 200, ''],
        [403, 403, 'insufficient_scope'],
        [401, 401, 'missing_api_key'],
      ]);

      // Revoked through another connection, as the CLI would: LISTEN/NOTIFY tells the demo.
      await createKeyManager({ store: other.store }).revoke(readOnly.split('_')[2]!);
      const revokedAt = Date.now();
      let res = await fetch(`${demo.url}/v1/accounts`, {
        headers: { Authorization: `Bearer ${readOnly}` },
      });
      while (res.status === 200 && Date.now() - revokedAt < 1000) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        res = await fetch(`${demo.url}/v1/accounts`, {
          headers: { Authorization: `Bearer ${readOnly}` },
        });
      }
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('api_key_revoked');
    } finally {
      await other.close();
      expect(await demo.stop()).toBe(0);
    }
  });

  it('on a schema nobody migrated: one line saying to run the migration, exit status 1', async () => {
    const ended = await runToEnd(['node', mainFile], {
      ORKESTA_AUTH_STORE: storeFor(),
      PORT: '0',
    });
    expect(ended.code).toBe(1);
    expect(ended.stdout).toBe('');
    expect(ended.stderr.trim().split('\n')).toHaveLength(1);
    expect(ended.stderr).toContain('pnpm orkesta-auth migrate');
  });
});
