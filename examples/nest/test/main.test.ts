import { fileURLToPath } from 'node:url';
import { describeDemoMain } from '@orkesta/example-shared/testing';

describeDemoMain(
  'NestJS',
  fileURLToPath(new URL('../dist/main.js', import.meta.url)),
  'start:nest',
);
