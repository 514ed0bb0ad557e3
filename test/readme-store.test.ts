import { readFileSync } from 'node:fs';
import { describeKeyStore } from '@orkesta/auth/testing';
import { describe, expect, it } from 'vitest';
import { TableKeyStore } from './readme-store.js';

// The store of the core README's "Write your own store", kept here as a file so that the
// type-check compiles it (strict) and the conformance kit runs it, as the README says to.

const readme = readFileSync(new URL('../packages/core/README.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('./readme-store.ts', import.meta.url), 'utf8');

describe("the core README's own store", () => {
  it('is the file the kit runs, as written', () => {
    const section = readme.split('\n## Write your own store\n')[1]!.split('\n## ')[0]!;
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
    expect(blocks).toContain(source);
  });
});

describeKeyStore('the README store (TableKeyStore)', { create: () => new TableKeyStore() });
