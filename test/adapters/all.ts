import { expressHarness } from './express.js';
import { fastifyHarness } from './fastify.js';
import type { AdapterHarness } from './harness.js';
import { koaHarness } from './koa.js';
import { nestExpressHarness, nestFastifyHarness } from './nest.js';

/**
 * Every adapter setup, as the conformance table, the fuzz suite and the security suites run
 * them: a new adapter joins here, and so every one of them.
 */
export const ADAPTERS: readonly AdapterHarness[] = [
  expressHarness,
  koaHarness,
  nestExpressHarness,
  nestFastifyHarness,
  fastifyHarness,
];
