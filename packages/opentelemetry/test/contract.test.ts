import { createServer } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contractExpressApp } from '../../../test/adapters/express.js';
import type { RunningApp } from '../../../test/adapters/harness.js';
import { runningApp } from '../../../test/adapters/harness.js';
import { CONTRACT_CASES, keyIdOf, sendContractRequest } from '../../../test/contract-cases.js';
import type { ContractFixture } from '../../../test/fixtures.js';
import { createContractFixture, WORKSPACE } from '../../../test/fixtures.js';
import {
  ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT,
  ATTR_ORKESTA_AUTH_KEY_ID,
  ATTR_ORKESTA_AUTH_KEY_SCOPE,
  ATTR_ORKESTA_AUTH_LOOKUP_RESULT,
  ATTR_ORKESTA_AUTH_OUTCOME,
  ATTR_ORKESTA_AUTH_WORKSPACE_ID,
  createTelemetryHooks,
  METRIC_ORKESTA_AUTH_AUTHENTICATIONS,
  METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION,
  OUTCOME_AUTHENTICATED,
} from '../src/index.js';
import type { Point, Sdk } from './otel.js';
import { enableContext, pointsOf, sdk } from './otel.js';

/**
 * The behaviour table of test/contract-cases.ts, every row, through a real Express app over
 * real HTTP, with the telemetry hooks beside the table's own (`combineHooks`), and each request
 * inside a span an outer handler starts, as an HTTP instrumentation would. For each row: the
 * counter's points (one per hook the table says the row fires), the attributes on its span,
 * and no secret anywhere in either. It lives here, not in test/, because the SDK it reads with
 * is this package's dev dependency; it imports the table, fixture and Express app from test/.
 */
describe('telemetry for every row of the behaviour contract (Express)', () => {
  let otel: Sdk;
  let fixture: ContractFixture;
  let app: RunningApp;

  beforeAll(async () => {
    enableContext();
    otel = sdk();
    fixture = await createContractFixture(
      createTelemetryHooks({ meterProvider: otel.meterProvider }),
    );
    const routes = contractExpressApp(fixture.authenticator, { signing: fixture.signing });
    const server = createServer((req, res) => {
      const span = otel.tracer.startSpan(`${req.method} ${req.url}`);
      res.on('finish', () => span.end());
      context.with(trace.setSpan(context.active(), span), () => routes(req, res));
    });
    app = await runningApp(server.listen(0, '127.0.0.1'));
    await otel.flush(); // what the fixture's own set-up requests recorded
  });

  afterAll(async () => {
    await app.close();
    await fixture.authenticator.close();
    await otel.shutdown();
    context.disable();
  });

  it.each(CONTRACT_CASES)('$name', async ({ request, expect: expected }) => {
    const { captured, keys, secrets } = fixture;
    const [spansBefore, provenBefore] = [
      otel.spanExporter.getFinishedSpans().length,
      captured.authenticated.length,
    ];
    const res = await sendContractRequest(app.baseUrl, request, keys);
    expect(res.status).toBe(expected.status);
    await vi.waitFor(() =>
      expect(otel.spanExporter.getFinishedSpans()).toHaveLength(spansBefore + 1),
    );
    const span = otel.spanExporter.getFinishedSpans().at(-1)!;
    const counted = await flushed(otel);

    // What the telemetry hooks hear of the row: its onAuthenticated and onRejected, in order.
    const heard = expected.hooks.filter((hook) => /^(authenticated|rejected) /.test(hook));
    const proven = captured.authenticated.slice(provenBefore).map((event) => event.key);
    expect(proven).toHaveLength(heard.filter((hook) => hook.startsWith('authenticated')).length);
    const key = proven[0];
    if (expected.status === 200) expect(key?.scope).toBe(expected.scope);

    // The counter: one point per hook; a proven key (admitted, or refused after it was proven)
    // with its scope and environment.
    const expectedPoints = heard.map((hook) => {
      const [kind, code] = hook.split(' ');
      return kind === 'authenticated'
        ? {
            attributes: {
              [ATTR_ORKESTA_AUTH_OUTCOME]: OUTCOME_AUTHENTICATED,
              [ATTR_ORKESTA_AUTH_KEY_SCOPE]: key!.scope,
              [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
            },
            value: 1,
          }
        : hook.endsWith(' proven KEY')
          ? {
              attributes: {
                [ATTR_ORKESTA_AUTH_OUTCOME]: code,
                [ATTR_ORKESTA_AUTH_KEY_SCOPE]: key!.scope,
                [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
              },
              value: 1,
            }
          : { attributes: { [ATTR_ORKESTA_AUTH_OUTCOME]: code }, value: 1 };
    });
    expect(sorted(counted.authentications)).toEqual(sorted(expectedPoints));

    // The span: the outcome of the last hook, the key id once a hook named it, the workspace,
    // scope and environment once the key was proven; nothing else.
    const last = heard.at(-1)!.split(' ');
    const keyId = heard.some((hook) => hook.endsWith(' KEY'))
      ? keyIdOf(request.authorization?.(keys))
      : undefined;
    expect(span.attributes).toEqual({
      [ATTR_ORKESTA_AUTH_OUTCOME]: last[0] === 'authenticated' ? OUTCOME_AUTHENTICATED : last[1],
      ...(keyId === undefined ? {} : { [ATTR_ORKESTA_AUTH_KEY_ID]: keyId }),
      ...(key === undefined
        ? {}
        : {
            [ATTR_ORKESTA_AUTH_WORKSPACE_ID]: WORKSPACE,
            [ATTR_ORKESTA_AUTH_KEY_SCOPE]: key.scope,
            [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
          }),
    });

    // A store that fails is a lookup that ended in error; no other row's lookup fails.
    const failedLookups = counted.lookups.filter(
      (point) =>
        point.attributes[ATTR_ORKESTA_AUTH_LOOKUP_RESULT] !== 'found' &&
        point.attributes[ATTR_ORKESTA_AUTH_LOOKUP_RESULT] !== 'not_found',
    );
    const storeFailed = expected.hooks.includes('error lookup KEY');
    expect(failedLookups.map((point) => [point.attributes, point.value.count])).toEqual(
      storeFailed ? [[{ [ATTR_ORKESTA_AUTH_LOOKUP_RESULT]: 'error' }, 1]] : [],
    );

    // Never a secret: not in a span attribute, not in a metric attribute.
    const exported = JSON.stringify([span.attributes, counted]);
    for (const secret of secrets) expect(exported).not.toContain(secret);
  });
});

/** What was recorded since the last flush: the counter's points and the lookups'. */
async function flushed(otel: Sdk) {
  const scopes = await otel.flush();
  return {
    authentications: pointsOf(scopes, METRIC_ORKESTA_AUTH_AUTHENTICATIONS),
    lookups: pointsOf<Histogram>(scopes, METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION),
  };
}

/** Points in a stable order, to compare as sets. */
function sorted(points: readonly Point[]): Point[] {
  const order = (point: Point) => JSON.stringify(point.attributes);
  return [...points].sort((a, b) => order(a).localeCompare(order(b)));
}
