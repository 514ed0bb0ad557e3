import type { AnyAuthError, RenderedError } from '@orkesta/auth';
import { ConfigurationError, isAuthError } from '@orkesta/auth';
import { renderAuthError } from '@orkesta/auth/adapter';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PluginContext } from './context.js';
import { contextOf } from './context.js';

/**
 * A refusal leaves a hook: answered with the contract's status, headers and problem+json body,
 * or, with `onFailure: 'throw'`, handed to Fastify's error handler with `status` and `headers`
 * set (`authErrorHandler()` answers it exactly as `'respond'` would).
 */
export function fail(
  context: PluginContext | undefined,
  error: AnyAuthError,
  reply: FastifyReply,
  done: (error?: Error) => void,
): void {
  if (context?.onFailure === 'throw') done(context.authenticator.withHeaders(error));
  else send(reply, render(context, error));
}

function render(context: PluginContext | undefined, error: AnyAuthError): RenderedError {
  return context === undefined ? renderAuthError(error) : context.authenticator.render(error);
}

function send(reply: FastifyReply, rendered: RenderedError): void {
  // A Buffer is sent as it is: a string would have Fastify append `; charset=utf-8` to the
  // problem+json type, which other adapters send bare (JSON types define no charset).
  reply
    .code(rendered.status)
    .headers(rendered.headers)
    .send(Buffer.from(JSON.stringify(rendered.body)));
}

/** What Fastify calls an error handler, of any error type. */
export type ErrorHandler = (
  this: FastifyInstance,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

/**
 * An error handler that answers `AuthError`s (from `onFailure: 'throw'`) with the contract's
 * response, rendered by the plugin that refused the request (its realm and problem type), and
 * hands every other error to `otherwise`, or, without one, to the parent context's handler
 * (Fastify's default at the root): `app.setErrorHandler(authErrorHandler())`.
 */
export function authErrorHandler(otherwise?: ErrorHandler): ErrorHandler {
  if (otherwise !== undefined && typeof otherwise !== 'function') {
    throw new ConfigurationError('authErrorHandler(otherwise): otherwise must be a function');
  }
  return function orkestaAuthErrorHandler(error, request, reply) {
    if (!isAuthError(error)) {
      if (otherwise !== undefined) return otherwise.call(this, error, request, reply);
      // Thrown from an error handler, an error goes to the parent context's handler.
      throw error;
    }
    // Nothing is returned: Fastify sends what an error handler returns, and this one has sent.
    send(reply, render(contextOf(request), error));
    return undefined;
  };
}
