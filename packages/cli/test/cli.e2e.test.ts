import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  API_KEY_SCANNER_PATTERN,
  type AuthResult,
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateApiKey,
  generateSigningKey,
  type KeyStore,
  parseApiKey,
} from '@orkesta/auth';
import { PostgresKeyStore } from '@orkesta/auth-store-postgres';
import { describe, expect, it, vi } from 'vitest';
import { openKeyStore, resolveStoreSpec } from '../src/index.js';
import { newSchema, postgresAvailable, postgresSpec, tempDir } from './helpers.js';
import {
  COMMAND_PATHS,
  cli,
  cliAsync,
  failed,
  json,
  ok,
  PG_PASSWORD,
  type Run,
} from './run-cli.js';

// Every test spawns the binary several times; on a loaded 2-core machine that takes a while.
vi.setConfig({ testTimeout: 90_000 });

interface Backend {
  readonly name: string;
  readonly available: boolean;
  /** A fresh, ready store for one test: its `--store` value. */
  fresh(): string;
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'SQLite',
    available: true,
    fresh: () => `sqlite:${join(tempDir(), 'keys.db')}`,
  },
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    fresh: () => {
      const store = postgresSpec(newSchema(), PG_PASSWORD);
      ok(cli(['migrate', '--store', store]));
      return store;
    },
  },
];

/**
 * Resolves once `store`'s change feed hears other processes: for PostgreSQL, once its LISTEN is
 * in place (at once if it already was, else at the reset that follows it); a SQLite handle
 * polls from its first subscriber on.
 */
function feedListening(store: KeyStore): Promise<void> {
  if (!(store instanceof PostgresKeyStore)) return Promise.resolve();
  const { changes } = store;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no LISTEN within 5 s')), 5_000);
    const done = () => {
      clearTimeout(timer);
      stop();
      resolve();
    };
    const stop = changes.subscribe(
      () => {},
      () => done(),
    );
    if (changes.listening) done();
  });
}

interface CreatedJson {
  id: string;
  key: string;
  workspaceId: string;
  name: string;
  scope: string;
  environment: string;
  status: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  rotatedFromId: string | null;
}

interface RotatedJson extends CreatedJson {
  previous: Omit<CreatedJson, 'key'>;
}

/** The columns of `keys list`, as the issue names them. */
const LIST_COLUMNS = ['ID', 'NAME', 'SCOPE', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY = 86_400_000;

/** The parts of a key that must never be printed again: the whole key, and its secret. */
function secretsOf(key: string): string[] {
  // ork_<env>_<id>_<secret><checksum>: the last part holds the secret and the checksum.
  const last = key.split('_').at(-1)!;
  return [key, last.slice(0, 32)];
}

function expectNoSecret(output: string, keys: readonly string[]): void {
  for (const key of keys) {
    for (const secret of secretsOf(key)) expect(output).not.toContain(secret);
  }
  expect(output).not.toMatch(new RegExp(API_KEY_SCANNER_PATTERN.source));
}

describe.each(BACKENDS)('orkesta-auth on $name', (backend) => {
  const test = it.skipIf(!backend.available);

  function create(store: string, ...extra: string[]): CreatedJson {
    return json<CreatedJson>(
      cli([
        'keys',
        'create',
        '--store',
        store,
        '--workspace',
        'ws_1',
        '--name',
        'production-erp-integration',
        '--scope',
        'read-write',
        '--json',
        ...extra,
      ]),
    );
  }

  function verify(store: string, key: string, ...extra: string[]): Run {
    return cli(['keys', 'verify', '--store', store, ...extra], { input: `${key}\n` });
  }

  test('keys create prints the key once, with a notice that it will not be shown again', () => {
    const store = backend.fresh();
    const run = ok(
      cli([
        'keys',
        'create',
        '--workspace',
        'ws_1',
        '--name',
        'erp',
        '--scope',
        'admin',
        '--store',
        store,
      ]),
    );
    const keys = run.stdout.match(new RegExp(API_KEY_SCANNER_PATTERN.source, 'g'));
    expect(keys).toHaveLength(1);
    expect(run.stdout).toContain('will not be shown again');
    const parsed = parseApiKey(keys![0]!);
    expect(run.stdout).toContain(parsed!.id);
    expect(ok(verify(store, keys![0]!)).stdout).toContain(`API key ${parsed!.id}`);
  });

  test('keys create --json: id, key, workspaceId, scope, name, expiresAt and the rest, dates in ISO-8601', async () => {
    const store = backend.fresh();
    const before = Date.now();
    const created = create(store, '--ttl', '90d');
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
      key: expect.stringMatching(new RegExp(`^${API_KEY_SCANNER_PATTERN.source}$`)),
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
      environment: 'live',
      status: 'active',
      createdAt: expect.stringMatching(ISO),
      expiresAt: expect.stringMatching(ISO),
      revokedAt: null,
      lastUsedAt: null,
      rotatedFromId: null,
      rateLimit: null,
    });
    expect(parseApiKey(created.key)?.id).toBe(created.id);
    const expires = Date.parse(created.expiresAt!);
    expect(expires).toBeGreaterThanOrEqual(before + 90 * DAY);
    expect(expires).toBeLessThanOrEqual(Date.now() + 90 * DAY);

    // In the store: the record, with a hash that is not the key.
    const opened = await openKeyStore(resolveStoreSpec(store, {}));
    try {
      const record = await opened.store.findById(created.id);
      expect(record).toMatchObject({ workspaceId: 'ws_1', scope: 'read-write' });
      expect(record?.hash).toMatch(/^sha256\$/);
      expect(record?.hash).not.toContain(secretsOf(created.key)[1]);
    } finally {
      await opened.close();
    }
  });

  test('--expires takes an ISO-8601 instant; --environment test makes an ork_test_ key', () => {
    const store = backend.fresh();
    const at = create(store, '--expires', '2099-03-04T05:06:07+02:00');
    expect(at.expiresAt).toBe('2099-03-04T03:06:07.000Z');
    const day = create(store, '--expires', '2099-12-31', '--environment', 'test');
    expect(day.expiresAt).toBe('2099-12-31T00:00:00.000Z');
    expect(day.key.startsWith('ork_test_')).toBe(true);
    expect(create(store).expiresAt).toBeNull();
  });

  test('an unknown id is one line and exit 1 for show, revoke and rotate', () => {
    const store = backend.fresh();
    for (const command of ['show', 'revoke', 'rotate']) {
      const stderr = failed(cli(['keys', command, 'NoSuchKeyId1', '--store', store]), 1);
      expect(stderr).toContain('api_key_not_found');
      expect(stderr).toContain('NoSuchKeyId1');
    }
    // A whole key pasted where its id belongs is not found, and never repeated.
    const { id, key } = create(store);
    for (const command of ['show', 'revoke', 'rotate']) {
      const stderr = failed(cli(['keys', command, key, '--store', store]), 1);
      expect(stderr).toContain('api_key_not_found');
      expectNoSecret(stderr, [key]);
    }
    // Nor is a key given to a command that takes none (verify reads it from stdin).
    for (const command of ['verify', 'list']) {
      expectNoSecret(failed(cli(['keys', command, key, '--store', store]), 2), [key]);
    }
    // A key of another workspace is not found either, with --workspace.
    for (const command of ['show', 'revoke', 'rotate']) {
      failed(cli(['keys', command, id, '--workspace', 'ws_other', '--store', store]), 1);
    }
    expect(json(cli(['keys', 'show', id, '--json', '--store', store])).status).toBe('active');
  });

  test('keys list: a table of every key, filters, --json, and never a secret', () => {
    const store = backend.fresh();
    const a = create(store);
    const b = create(store, '--ttl', '30d');
    const c = json<CreatedJson>(
      cli([
        ...['keys', 'create', '--store', store, '--json'],
        ...['--workspace', 'ws_2', '--name', 'reports', '--scope', 'read-only'],
      ]),
    );
    ok(cli(['keys', 'revoke', b.id, '--store', store]));
    const keys = [a.key, b.key, c.key];

    const table = ok(cli(['keys', 'list', '--store', store])).stdout;
    const [note, ...reversed] = table.trimEnd().split('\n').reverse();
    const lines = reversed.reverse();
    // Under the table: LAST USED lags behind, since servers write it in batches.
    expect(note).toMatch(/^LAST USED is written by the servers in batches \(every 30 s/);
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['ID', 'WORKSPACE', ...LIST_COLUMNS.slice(1)]);
    expect(lines).toHaveLength(4);
    // Newest first.
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([c.id, b.id, a.id]);
    expect(lines.find((line) => line.startsWith(b.id))).toMatch(/\brevoked\b/);
    expect(lines.find((line) => line.startsWith(a.id))).toMatch(
      /ws_1\s+production-erp-integration\s+read-write\s+active\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never\s+never$/,
    );
    expectNoSecret(table, keys);

    const ws1 = ok(cli(['keys', 'list', '--workspace', 'ws_1', '--store', store])).stdout;
    expect(ws1.split('\n')[0]!.split(/\s{2,}/)).toEqual(LIST_COLUMNS);
    expect(ws1).toContain(a.id);
    expect(ws1).not.toContain(c.id);

    const listed = json<CreatedJson[]>(cli(['keys', 'list', '--json', '--store', store]));
    expect(listed.map((k) => k.id)).toEqual([c.id, b.id, a.id]);
    expect(listed[1]).toMatchObject({ status: 'revoked', revokedAt: expect.stringMatching(ISO) });
    expect(listed.every((k) => !('key' in k) && !('hash' in k))).toBe(true);
    expectNoSecret(JSON.stringify(listed), keys);

    const active = json<CreatedJson[]>(
      cli([
        'keys',
        'list',
        '--status',
        'active',
        '--workspace',
        'ws_1',
        '--json',
        '--store',
        store,
      ]),
    );
    expect(active.map((k) => k.id)).toEqual([a.id]);
    expect(
      json<unknown[]>(cli(['keys', 'list', '--status', 'expired', '--json', '--store', store])),
    ).toEqual([]);
    expect(ok(cli(['keys', 'list', '--status', 'expired', '--store', store])).stdout).toBe(
      'No expired keys.\n',
    );
  });

  test('keys list pages through every key (more than one page of 1,000)', async () => {
    const store = backend.fresh();
    const opened = await openKeyStore(resolveStoreSpec(store, {}));
    try {
      const keys = createKeyManager({ store: opened.store });
      for (let i = 0; i < 1_003; i++) {
        await keys.create({ workspaceId: 'ws_bulk', name: `k${i}`, scope: 'read-only' });
      }
    } finally {
      await opened.close();
    }
    const listed = json<CreatedJson[]>(cli(['keys', 'list', '--json', '--store', store]));
    expect(listed).toHaveLength(1_003);
    expect(new Set(listed.map((k) => k.id)).size).toBe(1_003);
    const table = ok(cli(['keys', 'list', '--store', store])).stdout;
    expect(table.trimEnd().split('\n')).toHaveLength(1_004 + 1); // and the LAST USED note
  });

  test('keys show: every field but the hash; --json; never the secret', () => {
    const store = backend.fresh();
    const created = create(store, '--expires', '2099-01-01');
    const shown = ok(cli(['keys', 'show', created.id, '--store', store])).stdout;
    for (const field of [
      'workspace',
      'name',
      'scope',
      'status',
      'created',
      'expires',
      'last used',
    ]) {
      expect(shown).toMatch(new RegExp(`^${field}\\s`, 'm'));
    }
    expect(shown).toMatch(/^expires\s+2099-01-01 00:00:00Z$/m);
    expectNoSecret(shown, [created.key]);
    const { key: _key, ...expected } = created;
    expect(json(cli(['keys', 'show', created.id, '--json', '--store', store]))).toEqual(expected);
  });

  test('keys revoke: revoked in the store, verify says api_key_revoked, revoking again changes nothing', async () => {
    const store = backend.fresh();
    const created = create(store);
    expect(ok(verify(store, created.key)).stdout).toMatch(/^valid: /);
    const revoked = json<CreatedJson>(
      cli(['keys', 'revoke', created.id, '--json', '--store', store]),
    );
    expect(revoked).toMatchObject({ id: created.id, status: 'revoked' });
    expect(revoked.revokedAt).toMatch(ISO);
    const again = ok(cli(['keys', 'revoke', created.id, '--store', store]));
    expect(again.stdout).toContain('already revoked');
    expect(
      json<CreatedJson>(cli(['keys', 'show', created.id, '--json', '--store', store])).revokedAt,
    ).toBe(revoked.revokedAt);

    const refused = verify(store, created.key, '--json');
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual({
      valid: false,
      code: 'api_key_revoked',
      keyId: created.id,
      detail: expect.any(String),
    });
    expectNoSecret(refused.stdout + refused.stderr + again.stdout, [created.key]);

    const opened = await openKeyStore(resolveStoreSpec(store, {}));
    try {
      expect((await opened.store.findById(created.id))?.revokedAt).toBeInstanceOf(Date);
    } finally {
      await opened.close();
    }
  });

  test('keys rotate --overlap 24h prints the successor once; both keys work until the overlap ends', () => {
    const store = backend.fresh();
    const created = create(store, '--ttl', '30d');
    const human = ok(cli(['keys', 'rotate', created.id, '--overlap', '24h', '--store', store]));
    const printed = human.stdout.match(new RegExp(API_KEY_SCANNER_PATTERN.source, 'g'));
    expect(printed).toHaveLength(1);
    expect(printed![0]).not.toBe(created.key);
    expect(human.stdout).toContain('will not be shown again');

    const before = Date.now();
    const rotated = json<RotatedJson>(
      cli([
        'keys',
        'rotate',
        parseApiKey(printed![0]!)!.id,
        '--overlap',
        '1h',
        '--json',
        '--store',
        store,
      ]),
    );
    expect(rotated).toMatchObject({
      key: expect.stringMatching(new RegExp(`^${API_KEY_SCANNER_PATTERN.source}$`)),
      workspaceId: 'ws_1',
      name: 'production-erp-integration',
      scope: 'read-write',
      rotatedFromId: parseApiKey(printed![0]!)!.id,
      status: 'active',
      previous: { id: parseApiKey(printed![0]!)!.id, status: 'active' },
    });
    const overlapEnd = Date.parse(rotated.previous.expiresAt!);
    expect(overlapEnd).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(overlapEnd).toBeLessThanOrEqual(Date.now() + 3_600_000);
    // The successor lives as long as its predecessor did: 30 days.
    expect(Date.parse(rotated.expiresAt!) - Date.parse(rotated.createdAt)).toBe(30 * DAY);
    expect(Date.parse(created.expiresAt!) - Date.parse(created.createdAt)).toBe(30 * DAY);

    for (const key of [created.key, printed![0]!, rotated.key]) ok(verify(store, key));
    const list = ok(cli(['keys', 'list', '--store', store])).stdout;
    expectNoSecret(list, [created.key, printed![0]!, rotated.key]);
  });

  test('keys rotate without --overlap retires the old key at once; a revoked key cannot be rotated', () => {
    const store = backend.fresh();
    const created = create(store);
    const rotated = json<RotatedJson>(
      cli(['keys', 'rotate', created.id, '--json', '--store', store]),
    );
    const old = verify(store, created.key, '--json');
    expect(old.status).toBe(1);
    expect(JSON.parse(old.stdout)).toMatchObject({ valid: false, code: 'api_key_expired' });
    ok(verify(store, rotated.key));

    ok(cli(['keys', 'revoke', rotated.id, '--store', store]));
    const stderr = failed(cli(['keys', 'rotate', rotated.id, '--store', store]), 1);
    expect(stderr).toContain('api_key_not_active');
  });

  test('keys rotate on a key inside its overlap: refused (exit 1, api_key_already_rotated), saying what to do', () => {
    const store = backend.fresh();
    const created = create(store, '--ttl', '30d');
    const first = json<RotatedJson>(
      cli(['keys', 'rotate', created.id, '--overlap', '24h', '--json', '--store', store]),
    );
    const stderr = failed(
      cli(['keys', 'rotate', created.id, '--overlap', '24h', '--store', store]),
      1,
    );
    expect(stderr).toContain('api_key_already_rotated');
    expect(stderr).toContain(`Rotate ${first.id} instead`);
    // No second successor: the old key and its one successor are all there is.
    const listed = json<CreatedJson[]>(cli(['keys', 'list', '--json', '--store', store]));
    expect(listed.map((k) => k.id).sort()).toEqual([created.id, first.id].sort());
    // --overlap 0 is the default written out: accepted, and the old key stops at once.
    const next = json<RotatedJson>(
      cli(['keys', 'rotate', first.id, '--overlap', '0', '--json', '--store', store]),
    );
    expect(Date.parse(next.previous.expiresAt!)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(next.expiresAt!) - Date.parse(next.createdAt)).toBe(30 * DAY);
  });

  test('keys verify: valid, or which contract code; the key itself is never printed', () => {
    const store = backend.fresh();
    const created = create(store);
    const valid = json(verify(store, created.key, '--json'));
    expect(valid).toEqual({
      valid: true,
      keyId: created.id,
      workspaceId: 'ws_1',
      scope: 'read-write',
      environment: 'live',
      expiresAt: null,
    });
    ok(verify(store, created.key, '--scope', 'read-only', '--workspace', 'ws_1'));

    const codes: [string, string[], string][] = [
      [generateApiKey().token, [], 'invalid_api_key'], // well formed, unknown id
      [
        `${created.key.slice(0, -1)}${created.key.endsWith('A') ? 'B' : 'A'}`,
        [],
        'invalid_api_key',
      ], // checksum
      ['ork_live_short', [], 'invalid_api_key'],
      ['two words', [], 'malformed_authorization_header'],
      [created.key, ['--scope', 'admin'], 'insufficient_scope'],
      [created.key, ['--workspace', 'ws_other'], 'workspace_mismatch'],
    ];
    const outputs: string[] = [];
    for (const [key, extra, code] of codes) {
      const human = verify(store, key, ...extra);
      expect(human.status, code).toBe(1);
      expect(human.stdout).toMatch(new RegExp(`^not valid: ${code}: [^\\n]+\\n$`));
      const machine = verify(store, key, '--json', ...extra);
      expect(machine.status).toBe(1);
      expect(JSON.parse(machine.stdout)).toMatchObject({ valid: false, code });
      outputs.push(human.stdout, human.stderr, machine.stdout, machine.stderr);
    }
    expectNoSecret(outputs.join('\n'), [created.key]);
    // Nothing on stdin is a usage error.
    failed(cli(['keys', 'verify', '--store', store], { input: '' }), 2);
    failed(cli(['keys', 'verify', '--store', store], { input: '  \n' }), 2);
  });

  test('keys verify reads the first line and exits, even when stdin stays open', async () => {
    const store = backend.fresh();
    const created = create(store);
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./run-cli.js');
    const child = spawn(process.execPath, [BIN, 'keys', 'verify', '--json', '--store', store]);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stdin.write(`${created.key}\n`); // and never end it
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    expect(JSON.parse(stdout).valid).toBe(true);
  });

  test('a key revoked with the CLI is refused by a running server on the same store within 1 second', async () => {
    const store = backend.fresh();
    const created = create(store);
    const opened = await openKeyStore(resolveStoreSpec(store, {}));
    // A server's authenticator: caching (the default), listening to the store's change feed.
    const auth = createAuthenticator({ store: opened.store, lastUsed: false });
    const codeOf = (result: AuthResult) => (result.ok ? 'ok' : result.error.code);
    const request = { authorization: `Bearer ${created.key}`, secure: true };
    try {
      expect(codeOf(await auth.authenticate(request))).toBe('ok');
      // The server's feed is up, as a server running for a while has it.
      await feedListening(opened.store);
      // Created with the CLI while the server runs: accepted at once.
      const fresh = create(store);
      expect(
        codeOf(await auth.authenticate({ ...request, authorization: `Bearer ${fresh.key}` })),
      ).toBe('ok');

      ok(await cliAsync(['keys', 'revoke', created.id, '--store', store]));
      const revokedAt = Date.now();
      let code = codeOf(await auth.authenticate(request));
      while (code === 'ok' && Date.now() - revokedAt < 1_000) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        code = codeOf(await auth.authenticate(request));
      }
      expect(code).toBe('api_key_revoked');
    } finally {
      await auth.close();
      await opened.close();
    }
  });

  test('--store beats ORKESTA_AUTH_STORE, which beats the default', () => {
    const flag = backend.fresh();
    const fromEnv = backend.fresh();
    const cwd = tempDir();
    const created = create(flag);
    const env = { ORKESTA_AUTH_STORE: fromEnv };
    expect(ok(cli(['keys', 'list', '--store', flag], { env, cwd })).stdout).toContain(created.id);
    expect(ok(cli(['keys', 'list'], { env, cwd })).stdout).toBe('No keys.\n');
    expect(existsSync(join(cwd, '.orkesta'))).toBe(false);
  });
});

describe('bad arguments', () => {
  it('one line on stderr, nothing on stdout, exit 2 (usage), before the store is touched', () => {
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    const create = ['keys', 'create', '--store', store, '--workspace', 'w', '--name', 'n'];
    const cases: readonly (readonly string[])[] = [
      [...create, '--scope', 'superuser'], // unknown scope
      [...create, '--scope', 'admin', '--expires', '2001-01-01T00:00:00Z'], // past expiry
      [...create, '--scope', 'admin', '--expires', 'next tuesday'], // malformed date
      [...create, '--scope', 'admin', '--expires', '2099-02-30'], // no such day
      [...create, '--scope', 'admin', '--expires', '2099-02-01T10:00'], // time without zone
      [...create, '--scope', 'admin', '--ttl', '90'], // no unit
      [...create, '--scope', 'admin', '--ttl', '2w'], // unknown unit
      [...create, '--scope', 'admin', '--ttl', '0d'], // empty life
      [...create, '--scope', 'admin', '--ttl', '1d', '--expires', '2099-01-01'], // both
      [...create, '--scope', 'admin', '--environment', 'prod'],
      [...create, '--scope', 'admin', '--scope', 'read-only'], // twice
      ['keys', 'create', '--store', store, '--name', 'n', '--scope', 'admin'], // no workspace
      ['keys', 'create', '--store', store, '--workspace', 'w', '--scope', 'admin'], // no name
      ['keys', 'create', '--store', store, '--workspace', 'w', '--name', 'n'], // no scope
      [
        'keys',
        'create',
        '--store',
        store,
        '--workspace',
        'w',
        '--name',
        'x'.repeat(101),
        '--scope',
        'admin',
      ], // KeyManager refuses
      ['keys', 'list', '--store', store, '--status', 'gone'],
      ['keys', 'list', '--store', store, '--ttl', '1d'], // another command's option
      ['keys', 'list', '--store', store, '--bogus'],
      ['keys', 'list', '--store'], // no value
      ['keys', 'show', '--store', store], // no id
      ['keys', 'show', 'a', 'b', '--store', store],
      ['keys', 'rotate', 'abc', '--overlap', 'soon', '--store', store],
      ['keys', 'rotate', 'abc', '--overlap', '367d', '--store', store],
      ['keys', 'verify', '--scope', 'root', '--store', store],
      ['keys', 'frobnicate'],
      ['keys'],
      ['nothing'],
      [],
      ['keys', 'list', '--store', 'mysql://u@h/db'],
      ['keys', 'list', '--store', 'sqlite:'],
      ['migrate', 'now', '--store', store],
    ];
    for (const args of cases) {
      const stderr = failed(cli(args), 2);
      expect(stderr, args.join(' ')).toContain('--help');
    }
  });

  it.each<[string, readonly string[], RegExp]>([
    [
      'a negative --ttl',
      ['--ttl', '-5d'],
      /^orkesta-auth: --ttl must be .*cannot be negative.*"-5d"/,
    ],
    [
      'a --ttl past the last date',
      ['--ttl', '99999999999d'],
      /--ttl 99999999999d is too long: the most it can be is \d+d/,
    ],
    [
      'a negative --name',
      ['--name', '-x'],
      /--name "-x": a value that starts with "-" is given as --name=-x/,
    ],
  ])('%s says what is wrong in our words, naming the limit', (_, extra, said) => {
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    const args = ['keys', 'create', '--store', store, '--workspace', 'w', '--scope', 'admin'];
    const stderr = failed(
      cli([...args, ...(extra.includes('--name') ? [] : ['--name', 'n']), ...extra]),
      2,
    );
    expect(stderr).toMatch(said);
    expect(stderr).not.toContain('ambiguous');
  });

  it('a negative or too long --overlap says so, naming 366d', () => {
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    expect(
      failed(cli(['keys', 'rotate', 'abc', '--overlap', '-1h', '--store', store]), 2),
    ).toContain('cannot be negative');
    expect(
      failed(cli(['keys', 'rotate', 'abc', '--overlap', '400d', '--store', store]), 2),
    ).toContain('the most it can be is 366d');
  });

  it('a command without its group names the one it means', () => {
    expect(failed(cli(['revoke', 'abc']), 2)).toContain('did you mean "keys revoke"?');
  });
});

describe('signed keys, whose signing keys the CLI never holds', () => {
  it('lists them, refuses to rotate or verify them with one line and exit 2, and still revokes them', async () => {
    const store = `sqlite:${join(tempDir(), 'keys.db')}`;
    const opened = await openKeyStore(resolveStoreSpec(store));
    const signer = generateSigningKey();
    const signing = createSigningKeys({
      issuer: 'https://keys.example.com',
      audience: 'https://api.example.com',
      keys: [{ kid: signer.kid, privateKey: signer.privateKey }],
    });
    const issued = await createKeyManager({ store: opened.store, signing }).create({
      kind: 'signed',
      workspaceId: 'ws_1',
      name: 'edge',
      scope: 'read-only',
    });
    await opened.close();
    const id = issued.record.id;

    const listed = ok(cli(['keys', 'list', '--store', store])).stdout;
    expect(listed).toContain(id);
    expect(listed).not.toContain(issued.key);
    const rotate = failed(cli(['keys', 'rotate', id, '--store', store]), 2);
    expect(rotate).toContain(id);
    expect(rotate).not.toContain(issued.key);
    const verify = failed(
      cli(['keys', 'verify', '--store', store], { input: `${issued.key}\n` }),
      2,
    );
    expect(verify).not.toContain(issued.key);
    // Still active: neither refusal changed the key.
    expect(
      json<{ status: string }>(cli(['keys', 'show', id, '--store', store, '--json'])).status,
    ).toBe('active');
    expect(
      json<{ status: string }>(cli(['keys', 'revoke', id, '--store', store, '--json'])).status,
    ).toBe('revoked');
  });
});

describe('the default store', () => {
  it('is .orkesta/keys.db in the directory pnpm was run from (INIT_CWD), else the current one', () => {
    const root = tempDir();
    const elsewhere = tempDir();
    const created = json<CreatedJson>(
      cli(['keys', 'create', '--workspace', 'w', '--name', 'n', '--scope', 'admin', '--json'], {
        cwd: root,
      }),
    );
    expect(existsSync(join(root, '.orkesta', 'keys.db'))).toBe(true);
    // Run from another directory, but by pnpm from `root` (as `pnpm start` runs the demo in
    // examples/express): the same file.
    const listed = json<CreatedJson[]>(
      cli(['keys', 'list', '--json'], { cwd: elsewhere, env: { INIT_CWD: root } }),
    );
    expect(listed.map((k) => k.id)).toEqual([created.id]);
    expect(existsSync(join(elsewhere, '.orkesta'))).toBe(false);
  });
});

describe('migrate', () => {
  it('SQLite: reports the version, and what it applied', () => {
    const store = `sqlite:${join(tempDir(), 'sub', 'keys.db')}`;
    const first = json(cli(['migrate', '--json', '--store', store]));
    expect(first).toEqual({ kind: 'sqlite', store, applied: [1], version: 1 });
    const again = ok(cli(['migrate', '--store', store]));
    expect(again.stdout).toMatch(/is up to date \(version 1\)/);
  });

  it.skipIf(!postgresAvailable)(
    'PostgreSQL: keys commands on an unmigrated schema fail in one line naming orkesta-auth migrate (for npm and pnpm); migrate applies, then has nothing to do',
    () => {
      const schema = newSchema();
      const store = postgresSpec(schema, PG_PASSWORD);
      for (const args of [
        ['keys', 'list'],
        ['keys', 'create', '--workspace', 'w', '--name', 'n', '--scope', 'admin'],
        ['keys', 'show', 'abcdefabcdef'],
      ]) {
        const stderr = failed(cli([...args, '--store', store]), 3);
        expect(stderr).toContain('npx @orkesta/auth-cli migrate');
        expect(stderr).toContain('pnpm exec orkesta-auth migrate');
        expect(stderr).not.toContain(PG_PASSWORD);
      }
      const applied = json(cli(['migrate', '--json'], { env: { ORKESTA_AUTH_STORE: store } }));
      expect(applied).toEqual({
        kind: 'postgres',
        store: expect.stringContaining(`schema=${schema}`),
        schema,
        applied: [1],
        version: 1,
      });
      expect(JSON.stringify(applied)).not.toContain(PG_PASSWORD);
      const again = ok(cli(['migrate', '--store', store]));
      expect(again.stdout).toContain('is up to date (version 1)');
      expect(again.stdout).not.toContain(PG_PASSWORD);
      ok(cli(['keys', 'list', '--store', store]));
    },
  );
});

describe('the store cannot be used: exit 3, one line, no password', () => {
  it('an unreachable PostgreSQL', () => {
    const store = `postgres://app:${PG_PASSWORD}@127.0.0.1:1/db`;
    for (const args of [['keys', 'list'], ['migrate'], ['keys', 'show', 'x']]) {
      const stderr = failed(cli([...args, '--store', store]), 3);
      expect(stderr).not.toContain(PG_PASSWORD);
      expect(stderr).toContain('postgres://app:***@127.0.0.1:1/db');
    }
    const verify = cli(['keys', 'verify', '--store', store], {
      input: `${generateApiKey().token}\n`,
    });
    expect(failed(verify, 3)).not.toContain(PG_PASSWORD);
  });

  it('a file that is not a key store', () => {
    const file = join(tempDir(), 'notes.txt');
    writeFileSync(file, 'these are notes, not a database, ........................');
    failed(cli(['keys', 'list', '--store', `sqlite:${file}`]), 3);
  });
});

describe('--help', () => {
  const commands = COMMAND_PATHS;

  it('on every command and subcommand: usage on stdout, exit 0, the exit codes listed', () => {
    const top = ok(cli(['--help']));
    expect(top.stdout).toMatch(/^Usage: orkesta-auth <command>/);
    for (const command of commands) expect(top.stdout).toContain(`  ${command.join(' ')}  `);
    expect(ok(cli(['-h'])).stdout).toBe(top.stdout);
    expect(ok(cli(['help'])).stdout).toBe(top.stdout);
    expect(ok(cli(['keys', '--help'])).stdout).toMatch(/^Usage: orkesta-auth keys <command>/);
    for (const command of commands) {
      const help = ok(cli([...command, '--help'])).stdout;
      expect(help).toMatch(new RegExp(`^Usage: orkesta-auth ${command.join(' ')}\\b`));
      expect(help).toMatch(/^Exit codes:$/m);
      expect(help).toContain('--store SPEC');
      expect(help).toContain('--json');
      // `help keys revoke` and `help revoke` say the same.
      expect(ok(cli(['help', ...command])).stdout).toBe(help);
      expect(ok(cli(['help', command.at(-1)!])).stdout).toBe(help);
      if (command[0] === 'keys' && command[1] === 'create') {
        // Help wins over everything else on the line, and needs no store.
        expect(ok(cli([...command, '-h', '--store', 'mysql://nowhere'])).stdout).toBe(help);
      }
    }
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(ok(cli(['--version'])).stdout).toBe(`${version}\n`);
  });
});
