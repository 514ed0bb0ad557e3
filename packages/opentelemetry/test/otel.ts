import type { Attributes, Tracer } from '@opentelemetry/api';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { DataPoint, Histogram, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/**
 * The active span flows through async code as it does under the Node SDK. Call once per file
 * (`beforeAll`), and `context.disable()` after.
 */
export function enableContext(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** A point of a metric: its attributes and its value (a count's sum, or a histogram). */
export interface Point<V = number> {
  readonly attributes: Attributes;
  readonly value: V;
}

/** The points of metric `name` in what a flush gave. */
export function pointsOf<V = number>(scopes: readonly ScopeMetrics[], name: string): Point<V>[] {
  return scopes
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) => metric.dataPoints as DataPoint<unknown>[] as DataPoint<V>[])
    .map(({ attributes, value }) => ({ attributes, value }));
}

/**
 * SDK providers with in-memory exporters, given to the code under test explicitly. Metrics are
 * DELTA: each `points(name)` gives what was recorded since the previous flush.
 */
export function sdk() {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  // Exports only when flushed (the interval is never reached in a test).
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spanExporter)],
  });
  const tracer: Tracer = tracerProvider.getTracer('test');

  /** Every metric exported since the last flush, then forgotten. */
  async function flush() {
    await reader.forceFlush();
    const exported = metricExporter.getMetrics();
    metricExporter.reset();
    return exported.flatMap((resource) => resource.scopeMetrics);
  }

  /** The points of metric `name` recorded since the last flush (other metrics are dropped). */
  async function points<V = number>(name: string): Promise<Point<V>[]> {
    return pointsOf<V>(await flush(), name);
  }

  /** Runs `work` with a new span active, ends it, and gives the span as exported. */
  async function inSpan(work: () => Promise<unknown>): Promise<ReadableSpan> {
    const span = tracer.startSpan('request');
    try {
      await context.with(trace.setSpan(context.active(), span), work);
    } finally {
      span.end();
    }
    return spanExporter.getFinishedSpans().at(-1)!;
  }

  return {
    meterProvider,
    tracerProvider,
    tracer,
    spanExporter,
    flush,
    points,
    inSpan,
    shutdown: () => Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]),
  };
}

export type Sdk = ReturnType<typeof sdk>;
export type HistogramPoint = Point<Histogram>;
