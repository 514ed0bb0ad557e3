import { createAuthenticator, createKeyManager, type KeyLookup } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import { available, closeLater, codeOf, listening, newSchema, openStore } from './helpers.js';

describe.skipIf(!available)('concurrent requests', () => {
  it('100 concurrent authentications of one uncached key make exactly one findById', async () => {
    const store = openStore({ schema: newSchema(), migrate: true });
    const { key } = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-write',
    });
    // The feed resets caches when its LISTEN is first in place; let that happen beforehand.
    await listening(store);
    let lookups = 0;
    const counted: KeyLookup = {
      findById(id) {
        lookups++;
        return store.findById(id);
      },
      changes: store.changes,
    };
    const auth = closeLater(createAuthenticator({ store: counted, lastUsed: false }));
    const request = { authorization: `Bearer ${key}`, secure: true };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => auth.authenticate(request)),
    );
    expect(results.map(codeOf)).toEqual(Array(100).fill('ok'));
    expect(lookups).toBe(1);
  });
});
