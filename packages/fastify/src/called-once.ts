import type { FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * `next` for a hook that settles in a promise: Fastify's `done` must be called once (a second
 * call would run the rest of the request again), so an error thrown later by what `next` ran
 * is logged instead.
 */
export function calledOnce(
  next: HookHandlerDoneFunction,
  request: FastifyRequest,
): HookHandlerDoneFunction {
  let called = false;
  return ((error?: Error) => {
    if (!called) {
      called = true;
      next(error);
    } else request.log.error({ err: error }, 'orkestaAuth: an error after the request went on');
  }) as HookHandlerDoneFunction;
}
