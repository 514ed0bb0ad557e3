import { readFileSync } from 'node:fs';
import { DEFAULT_STORE_SPEC } from '@orkesta/auth-cli';
import { describe, expect, it } from 'vitest';
import { DEMO_RATE_LIMITS } from '../src/demo.js';
import { ROUTES } from '../src/routes.js';

const readme = (example: string) =>
  readFileSync(new URL(`../../${example}/README.md`, import.meta.url), 'utf8');

describe.each(['express', 'koa', 'nest', 'fastify'])('examples/%s/README.md', (example) => {
  const text = readme(example);

  it('lists exactly the routes of ROUTES, with their scope and status', () => {
    const rows = [
      ...text.matchAll(/^\| `(GET|POST|DELETE)` +\| `([^`]+)` +\| ([\w-]+) +\| (\d{3}) +\|/gm),
    ].map(([, method, path, scope, status]) => ({ method, path, scope, status: Number(status) }));
    expect(rows).toEqual(
      ROUTES.map(({ method, path, scope, status }) => ({ method, path, scope, status })),
    );
  });

  it('documents the four variables and their defaults', () => {
    const rows = new Map(
      [...text.matchAll(/^\| `([A-Z_]+)` +\| ([^|]+?) +\|/gm)]
        .filter(([, name]) => !['GET', 'POST', 'DELETE'].includes(name!))
        .map(([, name, value]) => [name, value!.replaceAll('`', '')]),
    );
    expect(Object.fromEntries(rows)).toEqual({
      ORKESTA_AUTH_STORE: DEFAULT_STORE_SPEC,
      PORT: '3000',
      HOST: '127.0.0.1',
      ORKESTA_AUTH_REDIS: 'none',
    });
  });
});

describe('the rate limits the READMEs state', () => {
  it("are the demo's, in the Express README and the root README", () => {
    const perMinute = (scope: keyof typeof DEMO_RATE_LIMITS) => {
      const rate = DEMO_RATE_LIMITS[scope];
      expect(rate.windowSeconds).toBe(60);
      return rate.limit;
    };
    const said = `read-only ${perMinute('read-only')} a minute, read-write ${perMinute('read-write')}`;
    expect(perMinute('admin')).toBe(perMinute('read-write'));
    expect(readme('express').replaceAll(/\*\*|\n/g, (m) => (m === '\n' ? ' ' : ''))).toContain(
      `${said}, admin ${perMinute('admin')}`,
    );
    const root = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(root.replaceAll('\n', ' ')).toContain(`${said} and admin ${perMinute('admin')}`);
  });
});
