import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AuthenticatorOptions, KeyManagerOptions, SignedKeyOptions } from '../src/index.js';
import * as core from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The text of the `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, title).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** The option names of the first table in `text` whose rows start with a code span. */
function optionNames(text: string): string[] {
  return [...text.matchAll(/^\| `(\w+)`\s+\|/gm)].map((match) => match[1]!);
}

/**
 * Runs a README code block as it is written: its imports come from the package itself, and
 * what it logs is returned line by line.
 */
async function run(block: string): Promise<string[]> {
  const logged: string[] = [];
  const source = block.replace(
    /^import \{([^}]+)\} from '@orkesta\/auth';$/m,
    (_all, names: string) => `const {${names}} = modules['@orkesta/auth'];`,
  );
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const body = new AsyncFunction('modules', 'console', source);
  await body(
    { '@orkesta/auth': core },
    { log: (...args: unknown[]) => logged.push(args.join(' ')) },
  );
  return logged;
}

describe('README of @orkesta/auth', () => {
  it('the createAuthenticator table lists every option, signedKeys included', () => {
    const options = {
      store: true,
      environments: true,
      requireHttps: true,
      realm: true,
      problemTypeBase: true,
      hashing: true,
      cache: true,
      storeTimeoutMs: true,
      unavailableRetryAfterSeconds: true,
      maxHeaderLength: true,
      lastUsed: true,
      changeFeed: true,
      rateLimit: true,
      failedAttempts: true,
      signedKeys: true,
      hooks: true,
      now: true,
    } satisfies Record<keyof AuthenticatorOptions, true>;
    const table = section('`createAuthenticator(options)`');
    expect(optionNames(table).sort()).toEqual(Object.keys(options).sort());
    // Every member of signedKeys is named in its row.
    const members = {
      issuer: true,
      audience: true,
      jwks: true,
      algorithms: true,
      verificationCache: true,
    } satisfies Record<keyof SignedKeyOptions, true>;
    const row = table.split('\n').find((line) => line.startsWith('| `signedKeys`'))!;
    for (const member of [...Object.keys(members), 'url', 'cooldownMs', 'maxAgeMs', 'timeoutMs']) {
      expect(row, member).toContain(member);
    }
  });

  it('the createKeyManager table lists every option, signing included', () => {
    const options = {
      store: true,
      hashing: true,
      environment: true,
      signing: true,
      changeFeed: true,
      publishTimeoutMs: true,
      onError: true,
      now: true,
    } satisfies Record<keyof KeyManagerOptions, true>;
    expect(optionNames(section('`createKeyManager(options)`')).sort()).toEqual(
      Object.keys(options).sort(),
    );
  });

  it('the Signed keys example runs as written and logs what its comments say', async () => {
    const text = section('Signed keys');
    const block = text.split('```ts\n')[1]!.split('```')[0]!;
    const expected = [...block.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
    expect(expected).toEqual(['true', 'signed', 'read-write', 'api_key_revoked']);
    expect(await run(block)).toEqual(expected);
  });

  it('the OpenAPI example runs as written and logs what its comments say', async () => {
    const block = section('OpenAPI: `addApiKeyAuth(document, options)`')
      .split('```ts\n')[1]!
      .split('```')[0]!;
    const expected = [...block.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
    expect(expected).toHaveLength(4);
    expect(await run(block)).toEqual(expected);
  });

  it('names the defaults the code has', () => {
    const text = section('Signed keys');
    expect(text).toContain(
      `\`SIGNED_KEY_MAX_LENGTH\` (${core.SIGNED_KEY_MAX_LENGTH.toLocaleString('en-US')})`,
    );
    expect(text).toContain(`\`typ: ${core.SIGNED_KEY_TYPE}\``);
    const { privateKey } = core.generateSigningKey({ kid: 'k' });
    const signing = core.createSigningKeys({
      issuer: 'https://keys.example.com',
      audience: 'https://api.example.com',
      keys: [{ kid: 'k', privateKey }],
    });
    const { headers } = core.jwksResponse(signing);
    expect(text.replace(/\s+/g, ' ')).toContain(
      `{ 'Content-Type': '${headers['Content-Type']}', 'Cache-Control': '${headers['Cache-Control']}' }`,
    );
  });
});

describe('README of @orkesta/auth: where things are', () => {
  const source = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

  /** The rows of the table under `heading` whose cells are code spans: [file, functions]. */
  function tableRows(heading: string): { file: string; names: string[] }[] {
    const lines = readme.slice(readme.indexOf(heading)).split('\n');
    const start = lines.findIndex((line) => line.startsWith('|'));
    const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
    return lines
      .slice(start + 2, end)
      .map((row) => row.split('|').map((cell) => cell.trim()))
      .map((cells) => ({
        file: /`([^`]+)`/.exec(cells[2] ?? '')?.[1] ?? '',
        names: [...(cells[3] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
      }));
  }

  /** Whether `text` declares `name`: a function, class or const, or `Class.method` in its class. */
  function declares(text: string, name: string): boolean {
    const [owner, member] = name.split('.');
    const declared = new RegExp(`(function|class|const)\\s+${owner}\\b`).test(text);
    if (member === undefined) return declared;
    const body = text.slice(text.search(new RegExp(`class\\s+${owner}\\b`)));
    return declared && new RegExp(`\\n\\s+(async\\s+)?${member}\\(`).test(body);
  }

  it.each([
    ['## The pipeline, step by step', 11],
    ['And the mechanisms around them', 16],
  ])('every file and function of the table under "%s" exists', (heading, rows) => {
    const found = tableRows(heading);
    expect(found).toHaveLength(rows);
    for (const { file, names } of found) {
      expect(file, heading).toMatch(/^src\//);
      const text = source(file);
      expect(names.length, file).toBeGreaterThan(0);
      for (const name of names) expect(declares(text, name), `${file}: ${name}`).toBe(true);
    }
  });

  it('the pipeline table names the contract steps in the order of the error contract', () => {
    const steps = tableRows('## The pipeline, step by step').map((row) => row.file);
    expect(steps).toEqual([
      'src/steps/transport.ts',
      'src/steps/extract.ts',
      'src/steps/throttle.ts',
      'src/steps/format.ts',
      'src/signed-verifier.ts',
      'src/steps/lookup.ts',
      'src/steps/compare.ts',
      'src/steps/status.ts',
      'src/steps/workspace.ts',
      'src/steps/rate.ts',
      'src/steps/scope.ts',
    ]);
  });

  it('no source file of the core is longer than 450 lines', () => {
    const files = readdirSync(new URL('../src', import.meta.url), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const long = files.filter((file) => source(`src/${file}`).split('\n').length > 450);
    expect(long).toEqual([]);
  });

  it.each([
    ['@orkesta/auth', '**`@orkesta/auth`**'],
    ['@orkesta/auth/adapter', '**`@orkesta/auth/adapter`**'],
    ['@orkesta/auth/store', '**`@orkesta/auth/store`**'],
    ['@orkesta/auth/testing', '**`@orkesta/auth/testing`**'],
  ])(
    '"Entry points" names exactly what %s exports, as the API report lists it',
    (entry, marker) => {
      const list = section('Entry points');
      const start = list.indexOf(marker);
      expect(start).toBeGreaterThan(0);
      const end = list.indexOf('\n- **', start + 1);
      const documented = new Set(
        [...list.slice(start + marker.length, end === -1 ? undefined : end).matchAll(/`([\w$]+)`/g)]
          .map((m) => m[1]!)
          .filter((name) => !['KEY', 'req', 'headers'].includes(name)),
      );
      const report = source('api-report.md');
      const part = report.slice(report.indexOf(`## \`${entry}\`\n`));
      const exported = [
        ...part
          .slice(0, part.indexOf('\n## ', 1) === -1 ? undefined : part.indexOf('\n## ', 1))
          .matchAll(/^### `([\w$]+)`/gm),
      ].map((m) => m[1]!);
      expect(exported.length).toBeGreaterThan(0);
      expect([...documented].sort()).toEqual([...exported].sort());
    },
  );
});
