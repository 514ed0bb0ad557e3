import { fileURLToPath } from 'node:url';
import { describeDemoMain } from '@orkesta/example-shared/testing';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';

describeDemoMain(
  'Fastify',
  fileURLToPath(new URL('../dist/main.js', import.meta.url)),
  'start:fastify',
  {
    redisUrl: (await serviceAvailable('redis')) ? REDIS_URL : undefined,
  },
);
