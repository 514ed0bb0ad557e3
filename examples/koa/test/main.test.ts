import { fileURLToPath } from 'node:url';
import { describeDemoMain } from '@orkesta/example-shared/testing';

describeDemoMain('Koa', fileURLToPath(new URL('../dist/main.js', import.meta.url)), 'start:koa');
