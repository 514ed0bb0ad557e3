import { readFileSync } from 'node:fs';
import { DEFAULT_STORE_SPEC } from 'orkesta-auth';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../src/routes.js';

const readme = (example: string) =>
  readFileSync(new URL(`../../${example}/README.md`, import.meta.url), 'utf8');

describe.each(['express', 'koa', 'nest'])('examples/%s/README.md', (example) => {
  const text = readme(example);

  it('lists exactly the routes of ROUTES, with their scope and status', () => {
    const rows = [
      ...text.matchAll(/^\| `(GET|POST|DELETE)` +\| `([^`]+)` +\| ([\w-]+) +\| (\d{3}) +\|/gm),
    ].map(([, method, path, scope, status]) => ({ method, path, scope, status: Number(status) }));
    expect(rows).toEqual(ROUTES.map((r) => ({ ...r })));
  });

  it('documents the three variables and their defaults', () => {
    const rows = new Map(
      [...text.matchAll(/^\| `([A-Z_]+)` +\| `([^`]+)` +\|/gm)]
        .filter(([, name]) => !['GET', 'POST', 'DELETE'].includes(name!))
        .map(([, name, value]) => [name, value]),
    );
    expect(Object.fromEntries(rows)).toEqual({
      ORKESTA_AUTH_STORE: DEFAULT_STORE_SPEC,
      PORT: '3000',
      HOST: '127.0.0.1',
    });
  });
});
