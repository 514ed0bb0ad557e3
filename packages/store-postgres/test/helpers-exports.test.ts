import { ConfigurationError } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMA, describeError, validateSchemaName } from '../src/index.js';

describe('exported helpers', () => {
  it('validateSchemaName accepts what the store accepts and throws its ConfigurationError', () => {
    expect(validateSchemaName('tenant_1')).toBe('tenant_1');
    expect(validateSchemaName(undefined)).toBe(DEFAULT_SCHEMA);
    for (const bad of ['Tenant', 'pg_x', '1x', 'a-b', 'x'.repeat(64)]) {
      expect(() => validateSchemaName(bad)).toThrow(ConfigurationError);
    }
  });

  it('describeError finds words in an AggregateError with an empty message, else the code', () => {
    const refused = new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], '');
    expect(describeError(refused)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    const coded = Object.assign(new Error(''), { code: 'ECONNRESET' });
    expect(describeError(coded)).toBe('ECONNRESET');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('text')).toBe('text');
  });
});
