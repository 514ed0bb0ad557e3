import { join } from 'node:path';
import { type AuthResult, createAuthenticator, type KeyChangeFeed } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import { openSqliteKeyStore } from '../src/index.js';
import { useChildren, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const child = useChildren();

const codeOf = (result: AuthResult) => (result.ok ? 'ok' : result.error.code);
const bearer = (key: string) => ({ authorization: `Bearer ${key}`, secure: true });
/** A feed that never tells anything: an authenticator on it keeps what it cached. */
const deaf: KeyChangeFeed = { publish() {}, subscribe: () => () => {} };

describe('several processes on one file', () => {
  it("a key revoked by another process is refused by this process's caching authenticator within 1 second", async () => {
    const filename = join(tempDir(), 'keys.db');
    const store = openSqliteKeyStore(filename);
    const other = child();
    await other.run({ op: 'open', filename });
    const { key, id } = await other.run({
      op: 'create',
      input: { workspaceId: 'ws_1', name: 'production-erp-integration', scope: 'read-write' },
    });
    // Both cache (the default); one listens to the store's feed, the other to nothing.
    const auth = createAuthenticator({ store, lastUsed: false });
    const withoutFeed = createAuthenticator({ store, lastUsed: false, changeFeed: deaf });
    try {
      expect(codeOf(await auth.authenticate(bearer(key as string)))).toBe('ok');
      expect(codeOf(await withoutFeed.authenticate(bearer(key as string)))).toBe('ok');

      const { revokedAt } = (await other.run({ op: 'revoke', id })) as { revokedAt: number };
      let code = 'ok';
      while (code === 'ok' && Date.now() - revokedAt < 1_000) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        code = codeOf(await auth.authenticate(bearer(key as string)));
      }
      expect(code).toBe('api_key_revoked');
      // The cache is real: without the feed, the revoked key is still admitted from it.
      expect(codeOf(await withoutFeed.authenticate(bearer(key as string)))).toBe('ok');
    } finally {
      await auth.close();
      await withoutFeed.close();
      await other.run({ op: 'close' });
      await store.close();
    }
  });

  it('a key created by another process is accepted here at once', async () => {
    const filename = join(tempDir(), 'keys.db');
    const store = openSqliteKeyStore(filename);
    const auth = createAuthenticator({ store, lastUsed: false });
    const other = child();
    try {
      await other.run({ op: 'open', filename });
      const { key } = await other.run({
        op: 'create',
        input: { workspaceId: 'ws_1', name: 'erp', scope: 'admin' },
      });
      const result = await auth.authenticate(bearer(key as string));
      expect(result.ok && result.key).toMatchObject({ workspaceId: 'ws_1', scope: 'admin' });
    } finally {
      await auth.close();
      await other.run({ op: 'close' });
      await store.close();
    }
  });
});
