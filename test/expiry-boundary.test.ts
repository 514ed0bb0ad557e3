import { afterEach, describe, expect, it } from 'vitest';
import type { RunningApp } from './adapters/harness.js';
import { REALM } from './fixtures.js';
import { send } from './http.js';
import type { SecuritySetup } from './security-fixtures.js';
import { ADAPTERS, outcome, securitySetup, T0 } from './security-fixtures.js';

/**
 * Expiry at the millisecond, through every adapter, with the clock injected: a key is admitted
 * at the last millisecond before the expiry the store holds, and refused with 401
 * `api_key_expired` from that very instant, whether its record was already cached (and its
 * token remembered) or is looked up at the instant itself. The stores' own conformance kit
 * (`describeKeyStore`) checks the same instant on memory, SQLite and PostgreSQL.
 */

const EXPIRES_AT = T0 + 123_456_789;

describe.each(ADAPTERS)('expiry at the boundary through $name', (harness) => {
  let setup: SecuritySetup;
  let app: RunningApp;

  afterEach(async () => {
    await app.close();
    await setup.authenticator.close();
  });

  it('the last admitted instant is expiry − 1 ms and the first refused is the stored expiry, cached or not', async () => {
    setup = securitySetup({ realm: REALM });
    const cached = await setup.issue('read-only', { expiresAt: EXPIRES_AT });
    const fresh = await setup.issue('read-only', { expiresAt: EXPIRES_AT });
    app = await harness.start(setup.authenticator);
    const get = (key: string) =>
      send(app.baseUrl, {
        path: '/read',
        headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'https' },
      });

    const stored = (await setup.store.findById(cached.id))!.expiresAt!.getTime();
    expect(stored).toBe(EXPIRES_AT);

    setup.clock.set(stored - 1);
    expect(outcome(await get(cached.key))).toBe('ok');
    expect(outcome(await get(cached.key))).toBe('ok'); // now from the cache
    const lookupsBefore = setup.store.lookups.length;

    setup.clock.set(stored);
    const refused = await get(cached.key);
    expect(outcome(refused)).toBe('api_key_expired');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe(
      `Bearer realm="${REALM}", error="invalid_token"`,
    );
    expect(setup.store.lookups.length).toBe(lookupsBefore); // refused by the cached record
    expect(outcome(await get(fresh.key))).toBe('api_key_expired'); // looked up at the instant

    setup.clock.set(stored + 1);
    expect(outcome(await get(cached.key))).toBe('api_key_expired');
    // Going back before the expiry admits again: the decision is the clock against the record.
    setup.clock.set(stored - 1);
    expect(outcome(await get(fresh.key))).toBe('ok');
  });
});
