import { readFileSync } from 'node:fs';
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
