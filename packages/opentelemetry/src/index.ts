/**
 * `@orkesta/auth-opentelemetry`: the core's hooks as OpenTelemetry instruments, through
 * `@opentelemetry/api` only (the application brings the SDK and its exporters).
 */
import type { Attributes, Counter, Histogram, MeterProvider } from '@opentelemetry/api';
import { metrics, trace } from '@opentelemetry/api';
import type {
  AuthenticatedEvent,
  AuthenticatedKey,
  AuthHooks,
  LookupEvent,
  RejectedEvent,
} from '@orkesta/auth';
import { ConfigurationError } from '@orkesta/auth';
import { optionsObject } from '@orkesta/auth/adapter';

/** The instrumentation scope: the meter's name. */
export const INSTRUMENTATION_SCOPE = '@orkesta/auth-opentelemetry';
/** Kept equal to package.json's version by a test. */
const VERSION = '0.1.0';

/** Counter (`{authentication}`): one per `onAuthenticated` and one per `onRejected`. */
export const METRIC_ORKESTA_AUTH_AUTHENTICATIONS = 'orkesta.auth.authentications';
/** Histogram (`s`): how long each store call took (cache misses only). */
export const METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION = 'orkesta.auth.store.lookup.duration';

/** `authenticated` (the key is proven), or the refusal's `code` (`invalid_api_key`, …). */
export const ATTR_ORKESTA_AUTH_OUTCOME = 'orkesta.auth.outcome';
/** The key's scope: `read-only`, `read-write`, `admin`. Known once the key is proven. */
export const ATTR_ORKESTA_AUTH_KEY_SCOPE = 'orkesta.auth.key.scope';
/** The key's environment: `live` or `test`. Known once the key is proven. */
export const ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT = 'orkesta.auth.key.environment';
/** The key id (public, never the secret). Spans only: too many values for a metric. */
export const ATTR_ORKESTA_AUTH_KEY_ID = 'orkesta.auth.key.id';
/** The key's workspace. Spans only: too many values for a metric. */
export const ATTR_ORKESTA_AUTH_WORKSPACE_ID = 'orkesta.auth.workspace.id';
/** How a store call ended: `found`, `not_found`, `error` or `timeout`. */
export const ATTR_ORKESTA_AUTH_LOOKUP_RESULT = 'orkesta.auth.lookup.result';

/** The outcome of a request whose key is proven (`onAuthenticated`). */
export const OUTCOME_AUTHENTICATED = 'authenticated';

/**
 * Bucket boundaries advised for the lookup histogram, in seconds: from half a millisecond (a
 * local Redis or PostgreSQL) to past the default store timeout of 2 s.
 */
export const LOOKUP_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export interface TelemetryOptions {
  /**
   * Where the meter comes from. Default: the global one (`metrics.getMeterProvider()`), as it is
   * when `createTelemetryHooks` runs: register the SDK first.
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Set the key id, workspace, scope, environment and outcome on the active span
   * (`trace.getActiveSpan()`). Default `true`.
   */
  readonly spanAttributes?: boolean;
}

const OPTIONS: readonly (keyof TelemetryOptions)[] = ['meterProvider', 'spanAttributes'];

/** The hooks `createTelemetryHooks` gives: give them to the authenticator, or combine them. */
export interface TelemetryHooks extends AuthHooks {
  onAuthenticated(event: AuthenticatedEvent): void;
  onRejected(event: RejectedEvent): void;
  onLookup(event: LookupEvent): void;
}

/**
 * Hooks that record authentications (`orkesta.auth.authentications`) and store lookup latency
 * (`orkesta.auth.store.lookup.duration`), and describe the request's key on its active span.
 * Never a secret: key ids, scopes, codes. Options are checked here, once.
 */
export function createTelemetryHooks(options?: TelemetryOptions): TelemetryHooks {
  const given = optionsObject(options, OPTIONS, undefined, 'an object of telemetry options');
  const provider = given.meterProvider ?? metrics.getMeterProvider();
  if (
    provider === null ||
    typeof provider !== 'object' ||
    typeof provider.getMeter !== 'function'
  ) {
    throw new ConfigurationError('meterProvider must be a MeterProvider (with getMeter)');
  }
  const spans = given.spanAttributes ?? true;
  if (typeof spans !== 'boolean') throw new ConfigurationError('spanAttributes must be a boolean');

  const meter = provider.getMeter(INSTRUMENTATION_SCOPE, VERSION);
  const authentications: Counter = meter.createCounter(METRIC_ORKESTA_AUTH_AUTHENTICATIONS, {
    description: 'Authentications by outcome: authenticated, or the code of the refusal.',
    unit: '{authentication}',
  });
  const lookups: Histogram = meter.createHistogram(METRIC_ORKESTA_AUTH_STORE_LOOKUP_DURATION, {
    description: 'Duration of the key store lookups (cache misses), by result.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...LOOKUP_DURATION_BUCKETS] },
  });

  /** The counter's attributes of an outcome: the key's scope and environment once it is proven. */
  const counted = (outcome: string, key: AuthenticatedKey | undefined): Attributes =>
    key === undefined
      ? { [ATTR_ORKESTA_AUTH_OUTCOME]: outcome }
      : {
          [ATTR_ORKESTA_AUTH_OUTCOME]: outcome,
          [ATTR_ORKESTA_AUTH_KEY_SCOPE]: key.scope,
          [ATTR_ORKESTA_AUTH_KEY_ENVIRONMENT]: key.environment,
        };
  /** The active span's attributes: the outcome, the key id, and what a proven key tells. */
  const describe = (
    outcome: string,
    keyId: string | undefined,
    key: AuthenticatedKey | undefined,
  ) => {
    const span = trace.getActiveSpan();
    if (span === undefined) return;
    span.setAttributes(counted(outcome, key));
    if (keyId !== undefined) span.setAttribute(ATTR_ORKESTA_AUTH_KEY_ID, keyId);
    if (key !== undefined) span.setAttribute(ATTR_ORKESTA_AUTH_WORKSPACE_ID, key.workspaceId);
  };

  return {
    onAuthenticated({ key }) {
      authentications.add(1, counted(OUTCOME_AUTHENTICATED, key));
      if (spans) describe(OUTCOME_AUTHENTICATED, key.keyId, key);
    },
    onRejected({ code, keyId, key }) {
      // A refusal before the key is proven knows no scope or environment: left off, not guessed.
      // After a proven key (workspace, rate, scope), the span's outcome becomes the code.
      authentications.add(1, counted(code, key));
      if (spans) describe(code, keyId, key);
    },
    onLookup({ durationMs, result }) {
      lookups.record(durationMs / 1000, { [ATTR_ORKESTA_AUTH_LOOKUP_RESULT]: result });
    },
  };
}
