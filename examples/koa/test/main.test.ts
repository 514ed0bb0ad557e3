import { fileURLToPath } from 'node:url';
import { describeDemoMain } from '@orkesta/example-shared/testing';
import { REDIS_URL, serviceAvailable } from '../../../test/services.js';

describeDemoMain('Koa', fileURLToPath(new URL('../dist/main.js', import.meta.url)), 'start:koa', {
  redisUrl: (await serviceAvailable('redis')) ? REDIS_URL : undefined,
});
