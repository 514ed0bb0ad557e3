import { readFileSync } from 'node:fs';
import * as sdkMetrics from '@opentelemetry/sdk-metrics';
import * as core from '@orkesta/auth';
import { describe, expect, it } from 'vitest';
import * as telemetry from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const MODULES: Record<string, unknown> = {
  '@orkesta/auth': core,
  '@orkesta/auth-opentelemetry': telemetry,
  '@opentelemetry/sdk-metrics': sdkMetrics,
};

/** Runs a README block as written, its imports from the packages themselves; gives what it logs. */
async function run(block: string): Promise<string[]> {
  const logged: string[] = [];
  const source = block.replace(
    /^import \{([^}]+)\} from '([^']+)';$/gm,
    (_all, names: string, from: string) => `const {${names}} = modules[${JSON.stringify(from)}];`,
  );
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  await new AsyncFunction('modules', 'console', source)(MODULES, {
    log: (...args: unknown[]) => logged.push(args.join(' ')),
  });
  return logged;
}

describe('README of @orkesta/auth-opentelemetry', () => {
  it('the main example runs as written and prints what the README says', async () => {
    const example = readme.split('```ts\n')[1]!.split('```')[0]!;
    const printed = readme.split('```text\n')[1]!.split('```')[0]!.trim().split('\n');
    expect(await run(example)).toEqual(printed);
  });

  it('the tables name every metric and attribute the package exports', () => {
    const names = Object.entries(telemetry)
      .filter(([name]) => name.startsWith('METRIC_') || name.startsWith('ATTR_'))
      .map(([, value]) => value as string);
    expect(names).toHaveLength(8);
    for (const name of names) expect(readme).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
  });

  it('the options table lists every option', () => {
    const section = readme.split('## Options')[1]!;
    const listed = [...section.matchAll(/^\| `(\w+)` +\|/gm)].map((match) => match[1]);
    expect(listed).toEqual(['meterProvider', 'spanAttributes']);
  });
});
