import { type Agent, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  readonly json: unknown;
}

/**
 * One HTTP request over loopback with full control of the header lines: a list value sends
 * several lines of the same name, which fetch and supertest cannot do. An `https:` base URL
 * is reached over TLS, trusting the certificate authority `ca`.
 */
export function send(
  baseUrl: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string | string[]>;
    body?: string;
    ca?: string;
    /** A keep-alive agent to reuse connections; default a new connection per request. */
    agent?: Agent;
  },
): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const settings = {
    method: options.method ?? 'GET',
    agent: options.agent ?? false,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, settings, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    for (const [name, value] of Object.entries(options.headers ?? {})) req.setHeader(name, value);
    req.end(options.body);
  });
}
