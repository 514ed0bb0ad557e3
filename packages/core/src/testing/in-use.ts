import { beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../authenticator.js';
import { createKeyManager } from '../key-manager.js';
import type { Scope } from '../scopes.js';
import type { KeyStore } from '../store-types.js';
import { codeOf, type Kit, kitSigning, sampleKeyRecord, T0, waitFor } from './kit.js';

/** The kit's part on the store under a real key manager and authenticator; and, given `reopen`, across handles. */
export function describeInUse<S extends KeyStore>(kit: Kit<S>): void {
  let store: S;
  beforeEach(() => {
    store = kit.store;
  });
  const { harness } = kit;
  const { feedDeliveryMs } = kit;
  const secondHandle = () => kit.secondHandle();

  describe('through the key manager and an authenticator', () => {
    const scope: Scope = 'read-write';

    it('a created key authenticates; revoked it answers api_key_revoked', async () => {
      let now = T0;
      const clock = () => now;
      const manager = createKeyManager({ store, now: clock });
      const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
      const issued = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
      const request = { authorization: `Bearer ${issued.key}`, secure: true };
      expect(codeOf(await auth.authenticate(request))).toBe('ok');
      now += 1;
      const revoked = await manager.revoke(issued.record.id);
      expect(revoked.status).toBe('revoked');
      expect(codeOf(await auth.authenticate(request))).toBe('api_key_revoked');
      await auth.close();
    });

    it('rotation: the successor works, the old key until the overlap ends, not after', async () => {
      let now = T0;
      const clock = () => now;
      const manager = createKeyManager({ store, now: clock });
      const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
      const old = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
      now += 1_000;
      const { issued } = await manager.rotate(old.record.id, { overlapMs: 60_000 });
      expect(issued.record.rotatedFromId).toBe(old.record.id);
      expect((await store.findById(issued.record.id))?.rotatedFromId).toBe(old.record.id);
      const use = (key: string) =>
        auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
      now += 59_999;
      expect(codeOf(await use(old.key))).toBe('ok');
      expect(codeOf(await use(issued.key))).toBe('ok');
      now += 1;
      expect(codeOf(await use(old.key))).toBe('api_key_expired');
      expect(codeOf(await use(issued.key))).toBe('ok');
      await auth.close();
    });

    it('expiry: admitted until the instant before, refused at it', async () => {
      let now = T0;
      const clock = () => now;
      const manager = createKeyManager({ store, now: clock });
      const auth = createAuthenticator({ store, now: clock, lastUsed: false, cache: false });
      const issued = await manager.create({
        workspaceId: 'ws_kit',
        name: 'erp',
        scope,
        expiresAt: T0 + 10_000,
      });
      const request = { authorization: `Bearer ${issued.key}`, secure: true };
      now = T0 + 9_999;
      expect(codeOf(await auth.authenticate(request))).toBe('ok');
      now = T0 + 10_000;
      expect(codeOf(await auth.authenticate(request))).toBe('api_key_expired');
      await auth.close();
    });

    it('a signed key: recorded and listed as signed, admitted, rotated into a signed key, revoked', async () => {
      let now = T0;
      const clock = () => now;
      const { signing, signedKeys } = kitSigning();
      const manager = createKeyManager({ store, now: clock, signing });
      const auth = createAuthenticator({
        store,
        now: clock,
        lastUsed: false,
        cache: false,
        signedKeys,
      });
      const use = (key: string) =>
        auth.authenticate({ authorization: `Bearer ${key}`, secure: true });
      const old = await manager.create({
        workspaceId: 'ws_kit',
        name: 'edge',
        scope,
        kind: 'signed',
        expiresAt: T0 + 3_600_000,
      });
      expect((await store.findById(old.record.id))?.hash).toMatch(/^jws-sha256\$/);
      expect(codeOf(await use(old.key))).toBe('ok');
      const listed = await manager.list({ workspaceId: 'ws_kit' });
      expect(listed.items.map((key) => [key.id, key.kind])).toEqual([[old.record.id, 'signed']]);
      now += 1_000;
      const { issued } = await manager.rotate(old.record.id, { overlapMs: 0 });
      expect(issued.record.kind).toBe('signed');
      expect(codeOf(await use(old.key))).toBe('api_key_expired');
      expect(codeOf(await use(issued.key))).toBe('ok');
      await manager.revoke(issued.record.id);
      expect(codeOf(await use(issued.key))).toBe('api_key_revoked');
      await auth.close();
    });

    it('last used reaches the store in batches from the authenticator', async () => {
      const manager = createKeyManager({ store, now: () => T0 });
      const auth = createAuthenticator({ store, now: () => T0 + 5, cache: false });
      const issued = await manager.create({ workspaceId: 'ws_kit', name: 'erp', scope });
      await auth.authenticate({ authorization: `Bearer ${issued.key}`, secure: true });
      await auth.close(); // flushes
      expect((await store.findById(issued.record.id))?.lastUsedAt).toEqual(new Date(T0 + 5));
    });
  });

  if (harness.reopen !== undefined) {
    describe('another handle on the same data', () => {
      it('sees a revocation made through this one', async () => {
        const other = await secondHandle();
        const record = sampleKeyRecord();
        await store.insert(record);
        expect((await other.findById(record.id))?.revokedAt).toBeNull();
        await store.update(record.id, { revokedAt: new Date(T0 + 1) });
        expect((await other.findById(record.id))?.revokedAt).toEqual(new Date(T0 + 1));
      });

      it(`hears published changes through its feed within ${feedDeliveryMs} ms`, async () => {
        const other = await secondHandle();
        if (store.changes === undefined || other.changes === undefined) {
          throw new Error('a store with reopen() must have a `changes` feed');
        }
        const heard = new Promise<readonly string[]>((resolve) => {
          const stop = other.changes?.subscribe((ids) => {
            stop?.();
            resolve(ids);
          });
        });
        const ids = [sampleKeyRecord().id, sampleKeyRecord().id];
        await store.changes.publish(ids);
        expect(await waitFor(heard, feedDeliveryMs, 'the change')).toEqual(ids);
      });

      it.each(['opaque', 'signed'] as const)(
        'an authenticator on the other handle refuses %s keys revoked here within the limit',
        async (kind) => {
          const other = await secondHandle();
          const { signing, signedKeys } = kitSigning();
          const manager = createKeyManager({ store, signing });
          // The verification cache is on (the default): a signed key is remembered too.
          const auth = createAuthenticator({ store: other, lastUsed: false, signedKeys });
          const issued = await manager.create({
            workspaceId: 'ws_kit',
            name: 'erp',
            scope: 'admin',
            kind,
          });
          const request = { authorization: `Bearer ${issued.key}`, secure: true };
          expect(codeOf(await auth.authenticate(request))).toBe('ok');
          expect(codeOf(await auth.authenticate(request))).toBe('ok'); // now cached
          const revokedAt = Date.now();
          await manager.revoke(issued.record.id);
          let code = 'ok';
          while (code === 'ok' && Date.now() - revokedAt < feedDeliveryMs) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            code = codeOf(await auth.authenticate(request));
          }
          expect(code).toBe('api_key_revoked');
          await auth.close();
        },
      );
    });
  }
}
