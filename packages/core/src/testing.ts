/**
 * `@orkesta/auth/testing`: the conformance kit for key stores. A store that passes it works
 * with every authenticator and key manager. Call it inside a vitest suite:
 *
 *     import { describeKeyStore } from '@orkesta/auth/testing';
 *     describeKeyStore('my store', { create: () => new MyStore(), close: (s) => s.close() });
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { ConfigurationError } from './errors.js';
import { rejectUnknownOptions } from './options.js';
import type { KeyStore } from './store-types.js';
import { describeChanges } from './testing/changes.js';
import { describeInUse } from './testing/in-use.js';
import type { KeyStoreHarness, Kit } from './testing/kit.js';
import { describeListing } from './testing/listing.js';
import { describeRecords } from './testing/records.js';

export type { KeyStoreHarness } from './testing/kit.js';
export { sampleKeyRecord } from './testing/kit.js';

/**
 * Registers the conformance suite for a key store under `describe(name)`: create, find, list
 * by workspace with paging, status and limits, revoke, rotate, expiry, per-key rates,
 * last-used batches, concurrent writers, refusal of duplicate ids, and (given `reopen`) changes
 * seen across handles. The harness is checked at once: an unknown key throws.
 */
export function describeKeyStore<S extends KeyStore>(name: string, harness: KeyStoreHarness<S>) {
  if (harness === null || typeof harness !== 'object' || typeof harness.create !== 'function') {
    throw new ConfigurationError('describeKeyStore needs a harness { create(), close?, reopen? }');
  }
  rejectUnknownOptions(harness, ['create', 'close', 'reopen', 'feedDeliveryMs']);
  const feedDeliveryMs = harness.feedDeliveryMs ?? 1_000;

  describe(`key store conformance: ${name}`, () => {
    let store: S | undefined;
    const opened: S[] = [];

    beforeEach(async () => {
      store = await harness.create();
      opened.push(store);
    });
    afterEach(async () => {
      // Second handles first: they may share what the first one owns.
      for (const handle of opened.splice(0).reverse()) await harness.close?.(handle);
    });

    const kit: Kit<S> = {
      get store() {
        if (store === undefined) throw new Error('the kit has no store outside a test');
        return store;
      },
      async secondHandle() {
        if (harness.reopen === undefined) throw new Error('the harness has no reopen()');
        const other = await harness.reopen(kit.store);
        opened.push(other);
        return other;
      },
      harness,
      feedDeliveryMs,
    };
    describeRecords(kit);
    describeListing(kit);
    describeChanges(kit);
    describeInUse(kit);
  });
}
