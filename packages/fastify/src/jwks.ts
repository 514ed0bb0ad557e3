import type { JSONWebKeySet, JwksResponseOptions, SigningKeys } from '@orkesta/auth';
import { ConfigurationError, jwksResponse } from '@orkesta/auth';
import { optionsObject } from '@orkesta/auth/adapter';
import type { FastifyPluginAsync } from 'fastify';

export interface OrkestaJwksOptions extends JwksResponseOptions {
  /** The issuer's keys: a `SigningKeys` (its public half is served) or a public JWKS. */
  readonly jwks: SigningKeys | JSONWebKeySet;
  /** The path it answers, GET and HEAD. Default `/.well-known/jwks.json`. */
  readonly path?: string;
  /** Fastify's own register options, which apply to this plugin's route as to any. */
  readonly prefix?: string;
  readonly logLevel?: string;
  readonly logSerializers?: Record<string, (value: unknown) => unknown>;
}

/**
 * Serves the issuer's JWKS, for services that verify its signed keys:
 * `app.register(orkestaJwks, { jwks: signingKeys })`. The route is public
 * (`config.orkesta.public`): the `orkestaAuth` plugin lets it through. The response
 * (`jwksResponse`) is made once, at registration: a set with private key material throws a
 * `ConfigurationError` there. An encapsulated plugin, so Fastify's `prefix` applies.
 */
export const orkestaJwks: FastifyPluginAsync<OrkestaJwksOptions> = async (fastify, options) => {
  const {
    jwks,
    path = '/.well-known/jwks.json',
    prefix: _prefix,
    logLevel: _logLevel,
    logSerializers: _logSerializers,
    ...responseOptions
  } = optionsObject(
    options,
    ['jwks', 'path', 'maxAgeSeconds', 'prefix', 'logLevel', 'logSerializers'],
    undefined,
    '{ jwks, path?, maxAgeSeconds? }',
  );
  if (jwks === undefined)
    throw new ConfigurationError('jwks is required: the SigningKeys or a public JWKS');
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ConfigurationError('path must be a path starting with "/"');
  }
  const { status, headers, body } = jwksResponse(jwks, responseOptions);
  // A Buffer is sent as it is, under the type set here (a string would gain `; charset=utf-8`).
  const payload = Buffer.from(body);
  // HEAD named here, so that it is served whatever the app's `exposeHeadRoutes`.
  fastify.route({
    method: ['GET', 'HEAD'],
    url: path,
    config: { orkesta: { public: true } },
    handler: (_request, reply) => {
      reply.code(status).headers(headers).send(payload);
    },
  });
};
