// Packs every published package as npm would ship it, then checks the tarball with publint
// and are-the-types-wrong. Run after `tsc -b`. Exits non-zero on any finding.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'orkesta-pack-'));
let failed = false;

try {
  for (const dir of readdirSync(join(root, 'packages'))) {
    const cwd = join(root, 'packages', dir);
    const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    // A directory per package: @orkesta/auth and orkesta-auth both pack to orkesta-auth-<v>.tgz.
    const destination = join(out, dir);
    mkdirSync(destination);
    execFileSync('pnpm', ['pack', '--pack-destination', destination], { cwd, stdio: 'pipe' });
    const [tarball] = readdirSync(destination);
    const file = join(destination, tarball);
    console.log(`\n== ${manifest.name} (${tarball})`);
    for (const [tool, args] of [
      ['publint', ['--strict', file]],
      // ESM only by design (Nest 12 is ESM-only); Node 20.19+ can require() it, tested separately.
      ['attw', [file, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      try {
        process.stdout.write(execFileSync(bin(tool), args, { encoding: 'utf8', stdio: 'pipe' }));
      } catch (error) {
        failed = true;
        process.stdout.write(
          `${tool} failed for ${manifest.name}:\n${error.stdout ?? ''}${error.stderr ?? ''}\n`,
        );
      }
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
