import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What npm shows and installs of each published package: its names, licence, links and peers.
// The packed tarballs themselves are checked by scripts/check-packages.mjs (publint, attw, the
// consumer apps).

const root = fileURLToPath(new URL('..', import.meta.url));
const REPOSITORY = 'https://github.com/orkesta/orkesta-auth';
const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  files?: string[];
  keywords?: string[];
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  bugs?: { url: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, manifest: JSON.parse(read('packages', dir, 'package.json')) as Manifest }))
  .filter(({ manifest }) => !manifest.private);

/** The file name `npm pack` and `pnpm pack` give a package's tarball. */
const tarballName = ({ name, version }: Manifest) =>
  `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

/** The bare specifiers the files ending in `extension` under `folder` import or re-export. */
function importsOf(folder: string, extension: string): Set<string> {
  const found = new Set<string>();
  for (const file of readdirSync(join(root, folder), { recursive: true })) {
    if (typeof file !== 'string' || !file.endsWith(extension)) continue;
    const text = read(folder, file);
    for (const [, specifier] of text.matchAll(/^(?:import|export)\b[^;]*?from '([^'.][^']*)'/gms)) {
      found.add(specifier!);
    }
  }
  return found;
}

/** Whether a declaration file under `folder` names one of Node's global types. */
function usesNodeGlobals(folder: string): boolean {
  return readdirSync(join(root, folder), { recursive: true }).some(
    (file) =>
      typeof file === 'string' &&
      file.endsWith('.d.ts') &&
      /\bNodeJS\.|\bBuffer\b/.test(read(folder, file)),
  );
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('published packages', () => {
  it('are all under @orkesta/, with tarball names of their own', () => {
    expect(packages.length).toBeGreaterThanOrEqual(8);
    for (const { manifest } of packages)
      expect(manifest.name).toMatch(/^@orkesta\/auth(-[a-z-]+)?$/);
    const names = packages.map(({ manifest }) => tarballName(manifest));
    expect(new Set(names).size).toBe(names.length);
    expect(packages.find(({ dir }) => dir === 'cli')?.manifest.name).toBe('@orkesta/auth-cli');
  });

  it.each(packages.map(({ dir, manifest }) => [manifest.name, dir, manifest] as const))(
    '%s ships the MIT licence and says where it comes from',
    (_name, dir, manifest) => {
      expect(manifest.license).toBe('MIT');
      expect(read('packages', dir, 'LICENSE')).toBe(read('LICENSE'));
      expect(read('LICENSE')).toMatch(/^MIT License\n/);
      expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
      expect(manifest.repository).toEqual({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: `packages/${dir}`,
      });
      expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/packages/${dir}#readme`);
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
      expect(manifest.keywords).toEqual(expect.arrayContaining(['orkesta', 'api-key']));
    },
  );

  it.each(packages.map(({ dir, manifest }) => [manifest.name, dir, manifest] as const))(
    '%s: what its code imports is a dependency or a peer; @types its types need, optional peers',
    (_name, dir, manifest) => {
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      for (const specifier of importsOf(join('packages', dir, 'src'), '.ts')) {
        if (specifier.startsWith('node:') || specifier === 'vitest') continue; // vitest: the kit's
        expect([...declared], `${dir} imports ${specifier}`).toContain(packageOf(specifier));
      }
      // The declarations npm users compile against (built by `tsc -b`, as the test command does).
      const typed = new Set(
        [...importsOf(join('packages', dir, 'dist'), '.d.ts')].map((specifier) =>
          specifier.startsWith('node:') ? 'node' : packageOf(specifier),
        ),
      );
      expect(typed.size, `packages/${dir}/dist: run tsc -b first`).toBeGreaterThan(0);
      // Node's globals (NodeJS.ProcessEnv, Buffer) need @types/node as much as node: imports do.
      if (usesNodeGlobals(join('packages', dir, 'dist'))) typed.add('node');
      for (const [name, types] of [
        ['node', '@types/node'],
        ['express', '@types/express'],
        ['koa', '@types/koa'],
        ['pg', '@types/pg'],
        ['better-sqlite3', '@types/better-sqlite3'],
      ] as const) {
        if (!typed.has(name)) continue;
        expect(manifest.peerDependencies?.[types], `${dir}: ${types}`).toBeDefined();
        expect(manifest.peerDependenciesMeta?.[types]?.optional, `${dir}: ${types}`).toBe(true);
      }
    },
  );

  it('the Nest package takes Nest 11 and 12', () => {
    const nest = packages.find(({ dir }) => dir === 'nest')!.manifest;
    expect(nest.peerDependencies?.['@nestjs/common']).toBe('^11.0.0 || ^12.0.0');
    expect(nest.peerDependencies?.['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
  });
});
