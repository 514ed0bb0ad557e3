// Packs every published package as npm would ship it, into one folder (as
// `pnpm -r exec pnpm pack --pack-destination DIR` would: every tarball name must be its own),
// checks each tarball with publint and are-the-types-wrong, then installs them with npm into
// fresh apps outside the workspace and runs every README's main example there
// (consumer-apps.mjs). Run after `tsc -b`. Exits non-zero on any finding.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConsumerApps } from './consumer-apps.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'orkesta-pack-'));
let failed = false;
const fail = (message) => {
  failed = true;
  console.log(message);
};

try {
  /** Package name → { dir, file }. */
  const tarballs = new Map();
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const cwd = join(root, 'packages', dir);
    const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const before = new Set(readdirSync(out));
    execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd, stdio: 'pipe' });
    const made = readdirSync(out).filter((file) => !before.has(file));
    if (made.length !== 1) {
      fail(`${manifest.name} packed to a tarball name another package has: nothing new in ${out}`);
      continue;
    }
    const file = join(out, made[0]);
    tarballs.set(manifest.name, { dir, file });
    console.log(`\n== ${manifest.name} (${made[0]})`);
    for (const [tool, args] of [
      ['publint', ['--strict', file]],
      // ESM only by design (Nest 12 is ESM-only); Node 20.19+ can require() it, tested separately.
      ['attw', [file, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      try {
        process.stdout.write(execFileSync(bin(tool), args, { encoding: 'utf8', stdio: 'pipe' }));
      } catch (error) {
        fail(`${tool} failed for ${manifest.name}:\n${error.stdout ?? ''}${error.stderr ?? ''}\n`);
      }
    }
    const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n');
    for (const shipped of ['package/LICENSE', 'package/README.md']) {
      if (!listed.includes(shipped))
        fail(`${manifest.name}: ${shipped.slice(8)} is not in the tarball`);
    }
  }
  if (!failed) {
    console.log('\n== consumer apps: the tarballs installed with npm, every README example run');
    try {
      await runConsumerApps(tarballs);
    } catch (error) {
      fail(`consumer apps failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
