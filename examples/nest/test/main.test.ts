import { fileURLToPath } from 'node:url';
import { describeDemoMain } from '@orkesta/example-shared/testing';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';

describeDemoMain(
  'NestJS',
  fileURLToPath(new URL('../dist/main.js', import.meta.url)),
  'start:nest',
  { redisUrl: (await serviceAvailable('redis')) ? REDIS_URL : undefined },
);
