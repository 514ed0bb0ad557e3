import { createKeyManager, KeyManagementError, MemoryKeyStore } from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import {
  banner,
  DEMO_WORKSPACE,
  DemoConfigurationError,
  demoAddress,
  firstStart,
  InvalidRequest,
  notFound,
  problemFor,
} from '../src/index.js';
import { KEY_PATTERN } from '../src/testing.js';

describe('demoAddress (PORT and HOST)', () => {
  it('defaults to 127.0.0.1:3000 and takes a port from 0 to 65535', () => {
    expect(demoAddress({})).toEqual({ port: 3000, host: '127.0.0.1' });
    expect(demoAddress({ PORT: '' })).toEqual({ port: 3000, host: '127.0.0.1' });
    expect(demoAddress({ PORT: '0' })).toEqual({ port: 0, host: '127.0.0.1' });
    expect(demoAddress({ PORT: '65535', HOST: '::1' })).toEqual({ port: 65535, host: '::1' });
  });

  it.each(['http', '-1', '65536', '3000.5', ' 80', '1e3'])('refuses PORT=%j', (port) => {
    expect(() => demoAddress({ PORT: port })).toThrow(DemoConfigurationError);
  });
});

describe('firstStart', () => {
  it('mints an admin and a read-only key in ws_demo once, while an admin key is active', async () => {
    const keys = createKeyManager({ store: new MemoryKeyStore() });
    // Keys of another workspace, and a read-write key of ws_demo, do not count.
    await keys.create({ workspaceId: 'ws_other', name: 'other', scope: 'admin' });
    await keys.create({ workspaceId: DEMO_WORKSPACE, name: 'rw', scope: 'read-write' });

    const first = await firstStart(keys);
    if (!('minted' in first)) throw new Error('expected a first start');
    const page = await keys.list({ workspaceId: DEMO_WORKSPACE, status: 'active' });
    const admin = page.items.find((k) => k.scope === 'admin')!;
    expect(first.minted.admin.split('_')[2]).toBe(admin.id);
    expect(page.items.map((k) => k.name).sort()).toEqual(['demo-admin', 'demo-read-only', 'rw']);

    const later = await firstStart(keys);
    expect(later).toEqual({ admins: [expect.objectContaining({ id: admin.id })] });
    expect((await keys.list({ workspaceId: DEMO_WORKSPACE })).items).toHaveLength(3);

    await keys.revoke(admin.id);
    expect('minted' in (await firstStart(keys))).toBe(true);
  });
});

describe('banner', () => {
  const minted = {
    admin: 'ork_live_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    readOnly: 'ork_live_cccccccccccc_dddddddddddddddddddddddddddddddddddddd',
  };
  const base = {
    framework: 'Express',
    url: 'http://127.0.0.1:3000',
    store: 'sqlite:/repo/.orkesta/keys.db',
    storeFromEnv: false,
  };

  it('a first start shows both keys and three curl lines; HTTPS off is said', () => {
    const text = banner({ ...base, start: { minted } }).join('\n');
    expect(text).toContain('HTTPS check is OFF');
    expect(new Set(text.match(KEY_PATTERN))).toEqual(new Set([minted.admin, minted.readOnly]));
    expect(text.split('\n').filter((l) => l.trim().startsWith('curl '))).toHaveLength(3);
    expect(text).toContain(
      'pnpm orkesta-auth keys create --workspace ws_demo --name my-integration --scope read-write\n',
    );
  });

  it('a later start shows no key, the admin key ids, and the CLI line', () => {
    const admins = [{ id: 'aaaaaaaaaaaa', name: 'demo-admin' }] as never;
    const text = banner({ ...base, start: { admins } }).join('\n');
    expect(text.match(KEY_PATTERN)).toBeNull();
    expect(text).toContain('aaaaaaaaaaaa (demo-admin)');
    expect(text).toContain('Its OpenAPI document: http://127.0.0.1:3000/openapi.json\n');
    expect(text).toContain('pnpm orkesta-auth keys create --workspace ws_demo');
  });

  it('names a store ORKESTA_AUTH_STORE chose: a SQLite path quoted for the shell, never a URL', () => {
    const admins = [] as never;
    const spaced = banner({
      ...base,
      storeFromEnv: true,
      store: "sqlite:/tmp/my keys/it's.db",
      start: { admins },
    }).join('\n');
    expect(spaced).toContain(`--store 'sqlite:/tmp/my keys/it'\\''s.db'`);
    const postgres = banner({
      ...base,
      storeFromEnv: true,
      store: 'postgres://app:***@db:5432/keys',
      start: { admins },
    }).join('\n');
    expect(postgres).not.toContain('--store');
    expect(postgres).toContain('with the same ORKESTA_AUTH_STORE');
  });
});

describe('problemFor', () => {
  it('renders invalid input, key management errors and framework 4xx as problem+json', () => {
    const invalid = problemFor(new InvalidRequest('amount must be a positive number'));
    expect(invalid.status).toBe(400);
    expect(invalid.headers['Content-Type']).toBe('application/problem+json');
    expect(invalid.body).toMatchObject({
      code: 'invalid_request',
      detail: 'amount must be a positive number',
    });
    expect(problemFor(new KeyManagementError('api_key_not_found', 'no key x')).body).toMatchObject({
      status: 404,
      code: 'api_key_not_found',
    });
    expect(problemFor({ status: 413 }).body).toMatchObject({
      status: 413,
      code: 'invalid_request',
    });
    expect(problemFor({ statusCode: 404 })).toEqual(notFound());
  });

  it('anything else is a 500 that says nothing of the error', () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const rendered = problemFor(new Error('database password is hunter2'));
      expect(rendered.status).toBe(500);
      expect(rendered.body.code).toBe('internal_error');
      expect(JSON.stringify(rendered)).not.toContain('hunter2');
      expect(problemFor({ status: 302 }).status).toBe(500);
    } finally {
      console.error = original;
    }
    expect(errors).toHaveLength(2);
  });
});
