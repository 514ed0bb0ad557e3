import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every Markdown link of every README resolves where it is read. A package's README is read on
// npm, where only the package's own files exist: its links are anchors in itself or absolute
// URLs, and a link into this repository (REPOSITORY/blob|tree/main/PATH) must name a file that
// is here, with a heading for its anchor. The other READMEs are read in the repository: a
// relative link must stay inside it and name a file that exists. Links to other sites are only
// checked to be URLs: this machine has no network beyond the package registries.

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const REPOSITORY = 'https://github.com/orkesta/orkesta-auth';

interface Link {
  readonly target: string;
  readonly line: number;
}

/** The targets of inline links and images, outside fenced code and code spans. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  let fenced = false;
  markdown.split('\n').forEach((text, index) => {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    if (fenced) return;
    const prose = text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      links.push({ target: match[1]!, line: index + 1 });
    }
  });
  return links;
}

/** The anchors GitHub and npm give a file's headings (`## A custom key store` → `a-custom-key-store`). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const text of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (heading === null) continue;
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The Markdown file a path in the repository stands for: itself, or a folder's README. */
function markdownAt(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const file = statSync(path).isDirectory() ? join(path, 'README.md') : path;
  return file.endsWith('.md') && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** What is wrong with `target` as read from `file` (`undefined`: nothing). */
function problemWith(target: string, file: string, shipped: boolean): string | undefined {
  const [path, anchor] = target.split('#') as [string, string | undefined];
  let markdown: string | undefined;
  if (path === '') {
    markdown = readFileSync(file, 'utf8');
  } else if (target === REPOSITORY || target.startsWith(`${REPOSITORY}#`)) {
    markdown = readFileSync(join(root, 'README.md'), 'utf8');
  } else if (path.startsWith(`${REPOSITORY}/`)) {
    const inRepo = /^\/(?:blob|tree)\/main\/(.+)$/.exec(path.slice(REPOSITORY.length));
    if (inRepo === null) {
      return /^\/(issues|pulls|releases)\b/.test(path.slice(REPOSITORY.length))
        ? undefined
        : 'a link into the repository is REPOSITORY/blob/main/PATH or /tree/main/PATH';
    }
    const local = join(root, decodeURIComponent(inRepo[1]!));
    if (!existsSync(local)) return `no ${relative(root, local)} in the repository`;
    markdown = markdownAt(local);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    return URL.canParse(path) ? undefined : 'not a URL';
  } else if (shipped) {
    return 'a relative link: npm shows only the package, use an absolute URL';
  } else {
    const local = resolve(dirname(file), decodeURIComponent(path));
    if (relative(root, local).startsWith('..')) return 'points outside the repository';
    if (!existsSync(local)) return `no ${relative(root, local)}`;
    markdown = markdownAt(local);
  }
  // `#readme`: where GitHub shows a repository's or folder's README.
  if (anchor === undefined || anchor === '' || anchor === 'readme' || markdown === undefined) {
    return undefined;
  }
  return anchorsOf(markdown).has(anchor) ? undefined : `no heading for #${anchor}`;
}

const published = readdirSync(join(root, 'packages')).filter(
  (dir) => !JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).private,
);
const readmes: [string, boolean][] = [
  ...published.map((dir): [string, boolean] => [join('packages', dir, 'README.md'), true]),
  ...['README.md', 'SECURITY.md', 'bench/RESULTS.md', 'bench/README.md', 'MUTATION.md']
    .concat(readdirSync(join(root, 'examples')).map((dir) => join('examples', dir, 'README.md')))
    .filter((file) => existsSync(join(root, file)))
    .map((file): [string, boolean] => [file, false]),
];

describe('Markdown links', () => {
  it('the suite reads every published package README', () => {
    expect(published.length).toBeGreaterThanOrEqual(8);
  });

  it.each(readmes)(
    '%s: every link resolves where it is read (shipped on npm: %s)',
    (file, shipped) => {
      const path = join(root, file);
      const problems = linksOf(readFileSync(path, 'utf8'))
        .map((link) => ({ ...link, problem: problemWith(link.target, path, shipped) }))
        .filter((link) => link.problem !== undefined)
        .map(({ line, target, problem }) => `${file}:${line} ${target}: ${problem}`);
      expect(problems).toEqual([]);
    },
  );

  it('finds the faults it is there for', () => {
    const core = join(root, 'packages/core/README.md');
    expect(problemWith('../../README.md', core, true)).toMatch(/relative/);
    expect(problemWith('#no-such-heading', core, true)).toMatch(/no heading/);
    expect(problemWith(`${REPOSITORY}/blob/main/NO-SUCH.md`, core, true)).toMatch(/no NO-SUCH/);
    expect(problemWith(`${REPOSITORY}#no-such-heading`, core, true)).toMatch(/no heading/);
    expect(problemWith(`${REPOSITORY}/blob/main/README.md#a-custom-key-store`, core, true)).toBe(
      undefined,
    );
    const top = join(root, 'README.md');
    expect(problemWith('../shared/x.txt', top, false)).toMatch(/outside/);
    expect(problemWith('packages/core/README.md#entry-points', top, false)).toBe(undefined);
    expect(problemWith('packages/nope', top, false)).toMatch(/no packages\/nope/);
    expect([...anchorsOf('# A `b/c`: d\n```\n# not\n```\n## A `b/c`: d\n')]).toEqual([
      'a-bc-d',
      'a-bc-d-1',
    ]);
  });
});
