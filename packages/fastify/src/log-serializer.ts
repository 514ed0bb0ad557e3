import type { FastifyRequest } from 'fastify';

/**
 * What Fastify's own `req` serializer logs of a request, and so this one. A type, not an
 * interface: Fastify's logger options want an object type with an index signature.
 */
export type LoggedRequest = {
  readonly method: string;
  readonly url: string;
  readonly version?: string;
  readonly host: string;
  readonly remoteAddress: string;
  readonly remotePort?: number;
};

// Anything that starts like one of our keys, opaque (`ork_`) or signed (`orks_`), up to the next
// character a key cannot hold: wider than the scanner patterns, so that a truncated or
// mistyped key, or its secret part after it, goes too. No word boundary before it: in
// `Bearer%20ork_live_…` a digit comes first.
const KEY_LIKE = /orks?_[0-9A-Za-z_.~%-]*/g;

/**
 * A `req` log serializer for Fastify's logger, the fields of Fastify's own, with anything
 * key-shaped in the URL replaced by `[redacted]`. Fastify logs every request's URL before any
 * hook runs; a client that puts its key in the query string (`?api_key=…`, refused with 401)
 * would otherwise leave it in your logs:
 * `Fastify({ logger: { serializers: { req: requestLogSerializer } } })`.
 */
export function requestLogSerializer(request: FastifyRequest): LoggedRequest {
  const version = single(request.headers?.['accept-version']);
  const remotePort = request.socket?.remotePort;
  // Absent fields are left out, as JSON would leave them (and as Fastify's log types want).
  return {
    method: request.method,
    url: request.url.replace(KEY_LIKE, '[redacted]'),
    ...(version === undefined ? {} : { version }),
    host: request.host,
    remoteAddress: request.ip,
    ...(remotePort === undefined ? {} : { remotePort }),
  };
}

/** A header's value as one string (Fastify's log types want one). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
