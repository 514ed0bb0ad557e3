import { join, resolve } from 'node:path';
import { ConfigurationError } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STORE_SPEC,
  parseStoreSpec,
  resolveStoreSpec,
  STORE_ENV,
  type StoreSpec,
  storeLabel,
} from '../src/index.js';
import { redact, secretsOf } from '../src/store-spec.js';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not throw');
}

describe('parseStoreSpec', () => {
  it('resolves a relative sqlite path against cwd, an absolute one as is', () => {
    expect(parseStoreSpec('sqlite:.orkesta/keys.db', { cwd: '/srv/app' })).toEqual({
      kind: 'sqlite',
      filename: '/srv/app/.orkesta/keys.db',
    });
    expect(parseStoreSpec('sqlite:../keys.db', { cwd: '/srv/app' })).toEqual({
      kind: 'sqlite',
      filename: '/srv/keys.db',
    });
    expect(parseStoreSpec('sqlite:/var/lib/keys.db', { cwd: '/srv/app' })).toEqual({
      kind: 'sqlite',
      filename: '/var/lib/keys.db',
    });
    expect(parseStoreSpec('SQLite:keys.db', { cwd: '/x' })).toEqual({
      kind: 'sqlite',
      filename: '/x/keys.db',
    });
  });

  it('reads postgres:// and postgresql:// URLs, taking the schema out of the query', () => {
    expect(parseStoreSpec('postgres://u@db.example:5432/app')).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db.example:5432/app',
    });
    expect(
      parseStoreSpec('postgresql://u:pw@db.example/app?sslmode=require&schema=tenant_1'),
    ).toEqual({
      kind: 'postgres',
      url: 'postgresql://u:pw@db.example/app?sslmode=require',
      schema: 'tenant_1',
    });
  });

  it.each([
    [''],
    ['  '],
    ['sqlite:'],
    ['sqlite::memory:'],
    ['keys.db'],
    ['mysql://u@h/db'],
    ['redis://127.0.0.1:6379'],
    ['postgres://'],
    ['postgres://u@h/db?schema=Bad-Name'],
    ['postgres://u@h/db?schema=a&schema=b'],
  ])('refuses %j with a ConfigurationError saying what is accepted', (value) => {
    const error = thrown(() => parseStoreSpec(value, { cwd: '/x' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('ERR_ORKESTA_AUTH_CONFIG');
    expect(error.message).not.toContain('\n');
  });

  it('refuses a misspelt option, naming it and the option it likely meant', () => {
    for (const parse of [
      () => parseStoreSpec('sqlite:keys.db', { cdw: '/x' } as never),
      () => resolveStoreSpec(undefined, {}, { CWD: '/x' } as never),
    ]) {
      const error = thrown(parse) as ConfigurationError;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'ERR_ORKESTA_AUTH_CONFIG', suggestion: 'cwd' });
      expect(['cdw', 'CWD']).toContain(error.option);
    }
  });

  it('never repeats the password of a URL that does not parse', () => {
    const error = thrown(() => parseStoreSpec('postgres://u:Sup3r-s3cret@[bad/db'));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).not.toContain('Sup3r-s3cret');
  });
});

describe('resolveStoreSpec', () => {
  const cwd = '/home/me/project';

  it('--store beats ORKESTA_AUTH_STORE beats the default', () => {
    const env = { [STORE_ENV]: 'sqlite:from-env.db' };
    expect(resolveStoreSpec('sqlite:from-flag.db', env, { cwd })).toEqual({
      kind: 'sqlite',
      filename: join(cwd, 'from-flag.db'),
    });
    expect(resolveStoreSpec(undefined, env, { cwd })).toEqual({
      kind: 'sqlite',
      filename: join(cwd, 'from-env.db'),
    });
    expect(resolveStoreSpec(undefined, {}, { cwd })).toEqual({
      kind: 'sqlite',
      filename: join(cwd, '.orkesta/keys.db'),
    });
    expect(DEFAULT_STORE_SPEC).toBe('sqlite:.orkesta/keys.db');
    // An empty variable counts as unset.
    expect(resolveStoreSpec(undefined, { [STORE_ENV]: '' }, { cwd })).toEqual(
      resolveStoreSpec(undefined, {}, { cwd }),
    );
  });

  it('an empty --store is an error, not the default', () => {
    expect(() => resolveStoreSpec('', {}, { cwd })).toThrow(ConfigurationError);
  });

  it('relative paths resolve against INIT_CWD (where pnpm was run), so a demo run in its own package opens the root file', () => {
    const env = { INIT_CWD: '/repo' };
    // `pnpm orkesta-auth` at the root, and `pnpm start` running the demo in examples/express:
    // both were run from /repo, and both open /repo/.orkesta/keys.db.
    expect(resolveStoreSpec(undefined, env)).toEqual({
      kind: 'sqlite',
      filename: '/repo/.orkesta/keys.db',
    });
    // An explicit cwd wins over INIT_CWD; without either, the process's own directory.
    expect(resolveStoreSpec(undefined, env, { cwd: '/elsewhere' })).toEqual({
      kind: 'sqlite',
      filename: '/elsewhere/.orkesta/keys.db',
    });
    expect(resolveStoreSpec(undefined, { INIT_CWD: '' })).toEqual({
      kind: 'sqlite',
      filename: resolve('.orkesta/keys.db'),
    });
  });

  it('parseStoreSpec uses the process INIT_CWD as well', () => {
    const saved = process.env.INIT_CWD;
    process.env.INIT_CWD = '/from/init';
    try {
      expect(parseStoreSpec('sqlite:k.db')).toEqual({
        kind: 'sqlite',
        filename: '/from/init/k.db',
      });
    } finally {
      if (saved === undefined) delete process.env.INIT_CWD;
      else process.env.INIT_CWD = saved;
    }
  });
});

describe('labels and redaction', () => {
  const withPassword: StoreSpec = parseStoreSpec(
    'postgres://app:p%40ss-W0rd@db.example:5432/keys?schema=tenant&sslmode=require',
  );

  it('a label names the store without its password', () => {
    expect(storeLabel(withPassword)).toBe(
      'postgres://app:***@db.example:5432/keys?sslmode=require&schema=tenant',
    );
    expect(storeLabel(parseStoreSpec('sqlite:/tmp/k.db'))).toBe('sqlite:/tmp/k.db');
    const inQuery = parseStoreSpec('postgres://app@db/keys?password=Qu3ry-pw');
    expect(storeLabel(inQuery)).not.toContain('Qu3ry-pw');
  });

  it('redact hides every spelling of the password', () => {
    expect(secretsOf(withPassword)).toEqual(expect.arrayContaining(['p%40ss-W0rd', 'p@ss-W0rd']));
    expect(redact('failed for p@ss-W0rd and p%40ss-W0rd', withPassword)).toBe(
      'failed for *** and ***',
    );
    expect(redact('nothing to hide', parseStoreSpec('sqlite:/tmp/k.db'))).toBe('nothing to hide');
  });
});
