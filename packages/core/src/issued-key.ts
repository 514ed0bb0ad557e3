import { inspect } from 'node:util';
import { defineSecret, REDACTED } from './key-format.js';
import type { ApiKeyInfo } from './key-manager-inputs.js';

/**
 * A newly issued key. `key` is the plaintext, returned this once and stored nowhere. Logging or
 * serialising the object shows the record and a redacted key; read `key` explicitly to hand it
 * to its owner.
 */
export class IssuedKey {
  declare readonly key: string;
  readonly record: ApiKeyInfo;

  constructor(key: string, record: ApiKeyInfo) {
    defineSecret(this, 'key', key);
    this.record = record;
  }

  toJSON(): { key: typeof REDACTED; record: ApiKeyInfo } {
    return { key: REDACTED, record: this.record };
  }

  [inspect.custom](): string {
    return `IssuedKey { id: ${this.record.id}, key: ${REDACTED} }`;
  }

  toString(): string {
    return `[IssuedKey ${this.record.id}]`;
  }
}

export interface RotatedKey {
  readonly issued: IssuedKey;
  /** The old key, now expiring at the end of the overlap. */
  readonly previous: ApiKeyInfo;
}
