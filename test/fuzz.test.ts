import type { Authenticator } from '@orkesta/auth';
import { createAuthenticator } from '@orkesta/auth';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADAPTERS } from './adapters/all.js';
import type { RunningApp } from './adapters/harness.js';
import type { Expected, FuzzCase, FuzzKeys } from './fuzz-cases.js';
import {
  expectedAnswer,
  exposedKey,
  FUZZ_NOW,
  fuzzCase,
  isSendable,
  issueFuzzKeys,
  provesKey,
  toRawRequest,
} from './fuzz-cases.js';
import type { RawAnswer } from './raw-http.js';
import { PipelinedConnection } from './raw-http.js';

/**
 * Fuzzing the Authorization header through every adapter, over real HTTP.
 *
 * Each adapter's real app (the same one the conformance table runs) listens on loopback; one
 * keep-alive connection sends the generated requests 250 at a time, pipelined, as raw bytes:
 * random field-value bytes, near-miss keys, edited keys, odd whitespace, values past every
 * length limit, several Authorization lines, keys where no key is looked for. Every answer must
 * be exactly the one the README's error contract gives (an oracle in fuzz-cases.ts works it
 * out from the request): the documented status and `code`, a problem+json body, never a 5xx,
 * never a 200 for anything but an issued, active key of a sufficient scope, and never a key in
 * the answer. `onInsecureKey` must hear of exactly the issued keys sent over plain HTTP. The connection must stay open throughout (an adapter that crashed a request
 * would drop it), and nothing may be thrown, rejected unhandled or reported to `onError`.
 *
 * The count: 25,000 requests per adapter, 100,000 in total, every one over HTTP. An Express
 * app answers about 3,000 requests a second on this 2-core machine (bench/RESULTS.md), so
 * 100,000 for each of the four adapters would add minutes to the suite; a quarter each keeps
 * it around half a minute while every request still crosses a socket, Node's HTTP parser, the
 * framework and the adapter. `packages/core/test/header.test.ts` fuzzes the header parser
 * alone.
 *
 * Throttling and rate limits are off here (the brute-force throttle would answer 429 to all
 * but the first 100 failures from loopback, and nothing behind it would be fuzzed); the
 * conformance table covers both.
 */

const BATCH = 250;
const RUNS_PER_ADAPTER = 100;
const PER_ADAPTER = BATCH * RUNS_PER_ADAPTER;
const OVER_HTTP = PER_ADAPTER * ADAPTERS.length;

const sent = new Map<string, number>();
const outcomes = new Map<string, number>();
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

let keys: FuzzKeys;
let store: Awaited<ReturnType<typeof issueFuzzKeys>>['store'];

beforeAll(async () => {
  ({ keys, store } = await issueFuzzKeys());
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
});

afterAll(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

interface Watched {
  readonly authenticator: Authenticator;
  readonly admitted: string[];
  readonly insecure: string[];
  readonly errors: unknown[];
}

function watchedAuthenticator(): Watched {
  const admitted: string[] = [];
  const insecure: string[] = [];
  const errors: unknown[] = [];
  const authenticator = createAuthenticator({
    store,
    now: () => FUZZ_NOW,
    failedAttempts: false,
    rateLimit: false,
    hooks: {
      onAuthenticated: (event) => admitted.push(event.key.keyId),
      onInsecureKey: (event) => insecure.push(event.keyId),
      onError: (error) => errors.push(error),
    },
  });
  return { authenticator, admitted, insecure, errors };
}

const label = (expected: Expected) =>
  expected.status === 200
    ? 'admitted'
    : expected.code === 'malformed_authorization_header' && !expected.challenge?.includes('error=')
      ? 'malformed_authorization_header, another scheme'
      : expected.code;

/** Why `answer` is not the contract's answer to `request`, or `undefined` when it is. */
function mismatch(answer: RawAnswer, expected: Expected): string | undefined {
  if (answer.status !== expected.status) return `status ${answer.status}`;
  let body: { code?: unknown; status?: unknown; type?: unknown; keyId?: unknown };
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return 'a body that is not JSON';
  }
  if (expected.status === 200) {
    return body.keyId === expected.keyId ? undefined : `admitted as ${String(body.keyId)}`;
  }
  if (!String(answer.headers['content-type']).startsWith('application/problem+json')) {
    return `content-type ${String(answer.headers['content-type'])}`;
  }
  if (body.code !== expected.code || body.status !== expected.status) {
    return `code ${String(body.code)}, body status ${String(body.status)}`;
  }
  if (body.type !== `urn:orkesta-auth:error:${expected.code}`) return `type ${String(body.type)}`;
  const challenge = answer.headers['www-authenticate'] ?? null;
  if (challenge !== expected.challenge) return `WWW-Authenticate ${String(challenge)}`;
  return undefined;
}

function leakedSecret(answer: RawAnswer): string | undefined {
  const wire = answer.body.toString('latin1') + JSON.stringify(answer.headers);
  return keys.secrets.find((secret) => wire.includes(secret));
}

function describeCase(fuzzCase: FuzzCase): string {
  return JSON.stringify(fuzzCase, null, 1);
}

describe.each(ADAPTERS)('fuzzing the Authorization header over HTTP: $name', (harness) => {
  let app: RunningApp;
  let watched: Watched;
  let connection: PipelinedConnection;

  beforeAll(async () => {
    watched = watchedAuthenticator();
    app = await harness.start(watched.authenticator);
    connection = await PipelinedConnection.open(app.baseUrl);
  });

  afterAll(async () => {
    connection.close();
    await app.close();
    await watched.authenticator.close();
  });

  it(`answers ${PER_ADAPTER.toLocaleString('en')} generated requests (${RUNS_PER_ADAPTER} runs of ${BATCH}, pipelined on one keep-alive connection) exactly as the contract says`, async () => {
    let proven = 0;
    const exposed: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzCase(keys), { minLength: BATCH, maxLength: BATCH }),
        async (cases) => {
          for (const c of cases)
            if (!isSendable(c)) throw new Error(`unsendable case ${describeCase(c)}`);
          const answers = await connection.send(cases.map(toRawRequest));
          sent.set(harness.name, (sent.get(harness.name) ?? 0) + answers.length);
          cases.forEach((c, i) => {
            const expected = expectedAnswer(c, keys);
            const answer = answers[i]!;
            const wrong = mismatch(answer, expected);
            const leaked = leakedSecret(answer);
            if (wrong !== undefined || leaked !== undefined) {
              throw new Error(
                `${harness.name} answered ${wrong ?? `with a key in it (${leaked})`} where the contract says ` +
                  `${JSON.stringify(expected)}\nrequest: ${describeCase(c)}\nanswer: ${answer.status} ` +
                  `${JSON.stringify(answer.headers)} ${answer.body.toString('latin1')}`,
              );
            }
            if (provesKey(c, keys)) proven++;
            const sentInTheClear = exposedKey(c, keys);
            if (sentInTheClear !== undefined) exposed.push(sentInTheClear.id);
            outcomes.set(label(expected), (outcomes.get(label(expected)) ?? 0) + 1);
          });
        },
      ),
      { numRuns: RUNS_PER_ADAPTER, endOnFailure: true },
    );
    expect(sent.get(harness.name)).toBe(PER_ADAPTER);
    // onAuthenticated heard of exactly the requests whose key was proven (an active issued key
    // over HTTPS, whatever its route then decided: the same on every adapter), and nothing
    // failed inside the core.
    const active = new Set(keys.all.filter((k) => k.state === 'active').map((k) => k.id));
    expect(watched.admitted.filter((id) => !active.has(id))).toEqual([]);
    expect(watched.admitted).toHaveLength(proven);
    // onInsecureKey heard of exactly the issued keys sent over plain HTTP, and of nothing else.
    await vi.waitFor(() => expect(watched.insecure).toHaveLength(exposed.length));
    expect(watched.insecure.sort()).toEqual(exposed.sort());
    expect(exposed.length).toBeGreaterThan(0);
    expect(watched.errors).toEqual([]);
    expect(escaped).toEqual([]);
  }, 120_000);
});

describe('the fuzz run as a whole', () => {
  it(`sent ${OVER_HTTP.toLocaleString('en')} generated Authorization headers over HTTP, ${PER_ADAPTER.toLocaleString('en')} through each of ${ADAPTERS.length} adapters, and reached every outcome of the contract`, () => {
    expect([...sent.entries()]).toEqual(ADAPTERS.map((a) => [a.name, PER_ADAPTER]));
    expect([...sent.values()].reduce((a, b) => a + b, 0)).toBe(OVER_HTTP);
    // The generators must reach every answer the contract can give here, often: a generator
    // that only made junk would pass the suite while proving little.
    for (const outcome of [
      'admitted',
      'https_required',
      'missing_api_key',
      'malformed_authorization_header',
      'malformed_authorization_header, another scheme',
      'invalid_api_key',
      'api_key_revoked',
      'api_key_expired',
      'workspace_mismatch',
      'insufficient_scope',
    ]) {
      expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(OVER_HTTP / 1_000);
    }
    expect(escaped).toEqual([]);
  });
});
