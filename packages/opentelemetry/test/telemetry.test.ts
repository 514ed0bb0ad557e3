import { readFileSync } from 'node:fs';
import { context, metrics, trace } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { AuthRequest, KeyLookup, StoredKey } from '@orkesta/auth';
import {
  ConfigurationError,
  combineHooks,
  createAuthenticator,
  createKeyManager,
  generateApiKey,
  MemoryKeyStore,
} from '@orkesta/auth';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT,
  ATTR_ORKESTA_AUTH_KEY_ID,
  ATTR_ORKESTA_AUTH_KEY_SCOPE,
  ATTR_ORKESTA_AUTH_LOOKUP_RESULT,
  ATTR_ORKESTA_AUTH_OUTCOME,
  ATTR_ORKESTA_AUTH_WORKSPACE_ID,
  createTelemetryHooks,
  INSTRUMENTATION_SCOPE,
  LOOKUP_DURATION_BUCKETS,
  METRIC_ORKESTA_AUTH_AUTHENTICATIONS,
  METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION,
  type TelemetryOptions,
} from '../src/index.js';
import type { HistogramPoint, Sdk } from './otel.js';
import { enableContext, sdk } from './otel.js';

const AUTHENTICATIONS = METRIC_ORKESTA_AUTH_AUTHENTICATIONS;
const LOOKUPS = METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION;

beforeAll(enableContext);
afterAll(() => context.disable());

let otel: Sdk;
beforeEach(() => {
  otel = sdk();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await otel.shutdown();
});

const bearer = (token: string, extra: Partial<AuthRequest> = {}): AuthRequest => ({
  authorization: `Bearer ${token}`,
  secure: true,
  ...extra,
});

/** A memory store with keys issued into it, and an authenticator with the telemetry hooks. */
async function setup(options: TelemetryOptions = {}, store: KeyLookup | undefined = undefined) {
  const keys = new MemoryKeyStore();
  const manager = createKeyManager({ store: keys });
  const issue = async (scope: 'read-only' | 'admin', environment: 'live' | 'test' = 'live') => {
    const { key, record } = await manager.create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope,
      environment,
    });
    return { key, id: record.id };
  };
  const hooks = createTelemetryHooks({ meterProvider: otel.meterProvider, ...options });
  const authenticator = createAuthenticator({ store: store ?? keys, hooks });
  return { keys, manager, issue, authenticator, hooks };
}

/** An admin key of ws_1, issued into `keys`. */
const adminKey = (keys: MemoryKeyStore) =>
  createKeyManager({ store: keys }).create({ workspaceId: 'ws_1', name: 'erp', scope: 'admin' });

describe('orkesta.auth.authentications and the active span', () => {
  it('a proven key: one point, authenticated, with its scope and environment; the span names the key', async () => {
    const { issue, authenticator } = await setup();
    const { key, id } = await issue('read-only', 'test');
    const span = await otel.inSpan(() => authenticator.authenticate(bearer(key)));
    expect(await otel.points(AUTHENTICATIONS)).toEqual([
      {
        attributes: {
          [ATTR_ORKESTA_AUTH_OUTCOME]: 'authenticated',
          [ATTR_ORKESTA_AUTH_KEY_SCOPE]: 'read-only',
          [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'test',
        },
        value: 1,
      },
    ]);
    expect(span.attributes).toEqual({
      [ATTR_ORKESTA_AUTH_OUTCOME]: 'authenticated',
      [ATTR_ORKESTA_AUTH_KEY_ID]: id,
      [ATTR_ORKESTA_AUTH_WORKSPACE_ID]: 'ws_1',
      [ATTR_ORKESTA_AUTH_KEY_SCOPE]: 'read-only',
      [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'test',
    });
  });

  it('a refusal before the key is proven: its code only; the span gets the code, and the key id when there is one', async () => {
    const { issue, authenticator, manager } = await setup();
    const { key, id } = await issue('admin');
    await manager.revoke(id);
    const missing = await otel.inSpan(() =>
      authenticator.authenticate({ authorization: undefined, secure: true }),
    );
    const revoked = await otel.inSpan(() => authenticator.authenticate(bearer(key)));
    const points = await otel.points(AUTHENTICATIONS);
    expect(points).toEqual(
      expect.arrayContaining([
        { attributes: { [ATTR_ORKESTA_AUTH_OUTCOME]: 'missing_api_key' }, value: 1 },
        { attributes: { [ATTR_ORKESTA_AUTH_OUTCOME]: 'api_key_revoked' }, value: 1 },
      ]),
    );
    expect(points).toHaveLength(2);
    expect(missing.attributes).toEqual({ [ATTR_ORKESTA_AUTH_OUTCOME]: 'missing_api_key' });
    expect(revoked.attributes).toEqual({
      [ATTR_ORKESTA_AUTH_OUTCOME]: 'api_key_revoked',
      [ATTR_ORKESTA_AUTH_KEY_ID]: id,
    });
  });

  it('a key proven, then refused: authenticated, then the code, both with its scope; the span ends on the code', async () => {
    const { issue, authenticator } = await setup();
    const { key, id } = await issue('read-only');
    const span = await otel.inSpan(() =>
      authenticator.authenticate(bearer(key, { requiredScope: 'admin' })),
    );
    const points = await otel.points(AUTHENTICATIONS);
    expect(points).toEqual(
      expect.arrayContaining([
        {
          attributes: {
            [ATTR_ORKESTA_AUTH_OUTCOME]: 'authenticated',
            [ATTR_ORKESTA_AUTH_KEY_SCOPE]: 'read-only',
            [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
          },
          value: 1,
        },
        {
          attributes: {
            [ATTR_ORKESTA_AUTH_OUTCOME]: 'insufficient_scope',
            [ATTR_ORKESTA_AUTH_KEY_SCOPE]: 'read-only',
            [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
          },
          value: 1,
        },
      ]),
    );
    expect(points).toHaveLength(2);
    expect(span.attributes).toEqual({
      [ATTR_ORKESTA_AUTH_OUTCOME]: 'insufficient_scope',
      [ATTR_ORKESTA_AUTH_KEY_ID]: id,
      [ATTR_ORKESTA_AUTH_WORKSPACE_ID]: 'ws_1',
      [ATTR_ORKESTA_AUTH_KEY_SCOPE]: 'read-only',
      [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: 'live',
    });
  });

  it('counts add up per outcome', async () => {
    const { issue, authenticator } = await setup();
    const { key } = await issue('admin');
    for (let i = 0; i < 3; i++) await authenticator.authenticate(bearer(key));
    const [point] = await otel.points(AUTHENTICATIONS);
    expect(point?.value).toBe(3);
  });

  it('spanAttributes: false leaves the span alone; the counter still counts', async () => {
    const { issue, authenticator } = await setup({ spanAttributes: false });
    const { key } = await issue('admin');
    const admitted = await otel.inSpan(() => authenticator.authenticate(bearer(key)));
    const refused = await otel.inSpan(() => authenticator.authenticate(bearer('ork_live_x')));
    expect(admitted.attributes).toEqual({});
    expect(refused.attributes).toEqual({});
    expect(await otel.points(AUTHENTICATIONS)).toHaveLength(2);
  });

  it('without an active span, only the counter records, and nothing throws', async () => {
    const onError = vi.fn();
    const keys = new MemoryKeyStore();
    const { key } = await adminKey(keys);
    const authenticator = createAuthenticator({
      store: keys,
      hooks: combineHooks(createTelemetryHooks({ meterProvider: otel.meterProvider }), {
        onError,
      }),
    });
    expect((await authenticator.authenticate(bearer(key))).ok).toBe(true);
    await authenticator.authenticate(bearer(`${key}x`));
    expect(await otel.points(AUTHENTICATIONS)).toHaveLength(2);
    expect(otel.spanExporter.getFinishedSpans()).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('orkesta.auth.store.lookup.duration', () => {
  /** `performance.now()` as the core reads it, moved by hand. */
  let monotonic = 0;
  beforeEach(() => {
    monotonic = 100;
    vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
  });

  /** A lookup over `keys` that takes `ms` on the monotonic clock. */
  const slow = (keys: KeyLookup, ms: number): KeyLookup => ({
    async findById(id) {
      monotonic += ms;
      return keys.findById(id);
    },
  });

  it('an unknown key: one point, in seconds, not_found; negatively cached, it records none', async () => {
    const { authenticator } = await setup({}, slow(new MemoryKeyStore(), 12.5));
    const { token } = generateApiKey();
    await authenticator.authenticate(bearer(token));
    const [point, ...others] = await otel.points<HistogramPoint['value']>(LOOKUPS);
    expect(others).toEqual([]);
    expect(point?.attributes).toEqual({ [ATTR_ORKESTA_AUTH_LOOKUP_RESULT]: 'not_found' });
    expect(point?.value).toMatchObject({ count: 1, sum: 0.0125 });

    await authenticator.authenticate(bearer(token));
    expect(await otel.points(LOOKUPS)).toEqual([]);
  });

  it('a key found, then a cache hit: one point', async () => {
    const keys = new MemoryKeyStore();
    const { key } = await adminKey(keys);
    const { authenticator } = await setup({}, slow(keys, 3));
    await authenticator.authenticate(bearer(key));
    await authenticator.authenticate(bearer(key));
    const points = await otel.points<HistogramPoint['value']>(LOOKUPS);
    expect(points.map((p) => p.attributes)).toEqual([
      { [ATTR_ORKESTA_AUTH_LOOKUP_RESULT]: 'found' },
    ]);
    expect(points[0]?.value).toMatchObject({ count: 1, sum: 0.003, min: 0.003, max: 0.003 });
  });

  it('the advised bucket boundaries, in seconds', async () => {
    const keys = new MemoryKeyStore();
    const { key } = await adminKey(keys);
    const { authenticator } = await setup({}, slow(keys, 30));
    await authenticator.authenticate(bearer(key));
    const [point] = await otel.points<HistogramPoint['value']>(LOOKUPS);
    expect(point?.value.buckets.boundaries).toEqual(LOOKUP_DURATION_BUCKETS);
    // 30 ms falls in (0.025, 0.05].
    const bucket = LOOKUP_DURATION_BUCKETS.indexOf(0.05);
    expect(point?.value.buckets.counts[bucket]).toBe(1);
  });

  it('a failing store: error; a store over its timeout: timeout', async () => {
    const failing = createAuthenticator({
      store: {
        async findById() {
          monotonic += 4;
          throw new Error('connection refused');
        },
      },
      hooks: combineHooks(createTelemetryHooks({ meterProvider: otel.meterProvider }), {
        onError() {},
      }),
    });
    const hanging = createAuthenticator({
      store: { findById: () => new Promise<StoredKey | null>(() => {}) },
      storeTimeoutMs: 5,
      hooks: createTelemetryHooks({ meterProvider: otel.meterProvider }),
    });
    const keys = new MemoryKeyStore();
    const { key } = await adminKey(keys);
    expect((await failing.authenticate(bearer(key))).ok).toBe(false);
    expect((await hanging.authenticate(bearer(key))).ok).toBe(false);
    const points = await otel.points<HistogramPoint['value']>(LOOKUPS);
    expect(
      points.map((p) => [p.attributes[ATTR_ORKESTA_AUTH_LOOKUP_RESULT], p.value.count]),
    ).toEqual(
      expect.arrayContaining([
        ['error', 1],
        ['timeout', 1],
      ]),
    );
    expect(points).toHaveLength(2);
  });

  it('concurrent requests for one key share one store call: one point', async () => {
    const keys = new MemoryKeyStore();
    const { key } = await adminKey(keys);
    const { authenticator } = await setup({}, slow(keys, 1));
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => authenticator.authenticate(bearer(key))),
    );
    expect(results.every((result) => result.ok)).toBe(true);
    const points = await otel.points<HistogramPoint['value']>(LOOKUPS);
    expect(points.map((p) => p.value.count)).toEqual([1]);
  });
});

describe('the global providers', () => {
  afterEach(() => {
    metrics.disable();
    trace.disable();
  });

  it('without a meterProvider, the global one (as registered when the hooks are made); spans from the global tracer', async () => {
    metrics.setGlobalMeterProvider(otel.meterProvider);
    trace.setGlobalTracerProvider(otel.tracerProvider);
    const keys = new MemoryKeyStore();
    const { key, record } = await adminKey(keys);
    const authenticator = createAuthenticator({ store: keys, hooks: createTelemetryHooks() });
    const tracer = trace.getTracer('app');
    await tracer.startActiveSpan('request', async (span) => {
      await authenticator.authenticate(bearer(key));
      span.end();
    });
    expect(await otel.points(AUTHENTICATIONS)).toHaveLength(1);
    const [span] = otel.spanExporter.getFinishedSpans();
    expect(span?.attributes[ATTR_ORKESTA_AUTH_KEY_ID]).toBe(record.id);
  });
});

describe('the meter', () => {
  it('is named after the package, with its version', async () => {
    const { issue, authenticator } = await setup();
    await authenticator.authenticate(bearer((await issue('admin')).key));
    const [scope] = await otel.flush();
    const manifest = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { name: string; version: string };
    expect(scope?.scope).toMatchObject({ name: manifest.name, version: manifest.version });
    expect(INSTRUMENTATION_SCOPE).toBe(manifest.name);
  });

  it('declares its units and kinds: {authentication} counter, histogram in s', async () => {
    const { issue, authenticator } = await setup();
    await authenticator.authenticate(bearer((await issue('admin')).key));
    const descriptors = (await otel.flush())
      .flatMap((scope) => scope.metrics)
      .map((metric) => [
        metric.descriptor.name,
        metric.dataPointType,
        metric.descriptor.unit,
        metric.dataPointType === DataPointType.SUM && metric.isMonotonic,
      ]);
    expect(descriptors).toEqual(
      expect.arrayContaining([
        [AUTHENTICATIONS, DataPointType.SUM, '{authentication}', true],
        [LOOKUPS, DataPointType.HISTOGRAM, 's', false],
      ]),
    );
  });
});

describe('options, checked once', () => {
  it.each([
    ['not an object', 'otel' as never],
    ['a meterProvider without getMeter', { meterProvider: {} as never }],
    ['spanAttributes not a boolean', { spanAttributes: 'yes' as never }],
  ])('%s: ConfigurationError', (_what, options) => {
    expect(() => createTelemetryHooks(options)).toThrow(ConfigurationError);
  });

  it('a misspelt option names itself and the one it meant', () => {
    expect(() => createTelemetryHooks({ meterprovider: {} } as never)).toThrow(
      expect.objectContaining({ option: 'meterprovider', suggestion: 'meterProvider' }),
    );
  });

  it('no options at all: the global meter provider (a no-op until one is registered)', () => {
    const hooks = createTelemetryHooks();
    expect(() =>
      hooks.onLookup({ keyId: 'AAAAAAAAAAAA', durationMs: 1, result: 'found' }),
    ).not.toThrow();
  });
});
