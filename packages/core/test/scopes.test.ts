import { describe, expect, it } from 'vitest';
import { requireScope } from '../src/adapter.js';
import { ConfigurationError, isScope, SCOPES, type Scope, scopeSatisfies } from '../src/index.js';
import { assertScope } from '../src/scopes.js';

describe('scopes', () => {
  it('are ordered read-only < read-write < admin', () => {
    expect(SCOPES).toEqual(['read-only', 'read-write', 'admin']);
  });

  const matrix: [Scope, Scope, boolean][] = [
    ['read-only', 'read-only', true],
    ['read-only', 'read-write', false],
    ['read-only', 'admin', false],
    ['read-write', 'read-only', true],
    ['read-write', 'read-write', true],
    ['read-write', 'admin', false],
    ['admin', 'read-only', true],
    ['admin', 'read-write', true],
    ['admin', 'admin', true],
  ];

  it.each(matrix)('a %s key satisfies %s: %s', (granted, required, expected) => {
    expect(scopeSatisfies(granted, required)).toBe(expected);
  });

  it('recognises exactly the three scopes', () => {
    for (const scope of SCOPES) expect(isScope(scope)).toBe(true);
    for (const value of [
      'READ-ONLY',
      'readonly',
      'write',
      '',
      'toString',
      'constructor',
      1,
      null,
      // `Object.hasOwn(RANK, ['admin'])` is true: only a string may name a scope.
      ['admin'],
      { toString: () => 'admin' },
    ]) {
      expect(isScope(value)).toBe(false);
    }
  });
});

describe('assertScope', () => {
  it('refuses a symbol with a ConfigurationError, not the TypeError a template would throw', () => {
    expect(() => assertScope(Symbol('admin'), 'where')).toThrow(ConfigurationError);
  });

  it('returns a known scope', () => {
    expect(assertScope('admin', 'where')).toBe('admin');
  });

  it.each<unknown>(['superuser', 'Admin', '', undefined, null, 3, '__proto__'])(
    'throws a ConfigurationError for %j',
    (value) => {
      expect(() => assertScope(value, 'route scope')).toThrow(ConfigurationError);
    },
  );
});

describe('requireScope', () => {
  it('returns a frozen requirement', () => {
    const requirement = requireScope('read-write');
    expect(requirement).toEqual({ scope: 'read-write' });
    expect(Object.isFrozen(requirement)).toBe(true);
  });

  it('throws a ConfigurationError for an unknown scope', () => {
    expect(() => requireScope('write' as Scope)).toThrow(ConfigurationError);
    expect(() => requireScope(undefined as unknown as Scope)).toThrow(ConfigurationError);
  });
});
