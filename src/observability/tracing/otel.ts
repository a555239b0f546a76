// Loaded only when OTEL_TRACES_EXPORTER turns tracing on (loadTracing in index.ts): a process
// that does not trace maps none of these modules.
import {
  ROOT_CONTEXT,
  SpanKind as OtelKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Carrier, SpanAttributes, SpanKind, StartOptions, TraceSpan, Tracing, TracingOptions } from './types.ts';

const OWN = Symbol('loupe.span');

const KINDS: Record<SpanKind, OtelKind> = {
  internal: OtelKind.INTERNAL,
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
};

/** A recorded span and the context it makes (its children's parent). */
class OtelSpan implements TraceSpan {
  readonly span: Span;
  readonly context: Context;
  constructor(span: Span, parent: Context) {
    this.span = span;
    // The context remembers the OtelSpan that made it, so `active()` gives back Loupe's span.
    this.context = trace.setSpan(parent, span).setValue(OWN, this);
  }
  get traceId(): string {
    return this.span.spanContext().traceId;
  }
  get spanId(): string {
    return this.span.spanContext().spanId;
  }
  set(attributes: SpanAttributes): void {
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) this.span.setAttribute(k, v);
  }
  fail(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.span.recordException(error);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  end(endTime?: number): void {
    this.span.end(endTime);
  }
}

function sampler(opts: TracingOptions): Sampler {
  const ratio = new TraceIdRatioBasedSampler(opts.ratio);
  switch (opts.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

const getter = {
  ...defaultTextMapGetter,
  get: (carrier: Carrier, key: string) => carrier[key] as string | string[] | undefined,
};

/**
 * The OpenTelemetry SDK behind Loupe's Tracing: a tracer provider of its own (no global
 * provider is registered), W3C trace context in and out, and an AsyncLocalStorage context
 * manager of its own, so that a span made active by `within` is the parent of what runs inside
 * (a batch's link, an outgoing request's traceparent) without passing it through every call.
 */
export function createOtelTracing(opts: TracingOptions, onExportError?: (err: Error) => void): Tracing {
  const inner: SpanExporter =
    opts.exporter === 'console'
      ? new ConsoleSpanExporter()
      : new OTLPTraceExporter({ url: opts.url, headers: { ...opts.headers } });
  // The SDK reports a failed export only to its diagnostic logger (silent unless registered
  // globally): the role hears of it instead, so a wrong endpoint is not a silent one.
  const exporter: SpanExporter = {
    export: (spans, done) =>
      inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS)
          onExportError?.(result.error ?? new Error(`${spans.length} spans not exported`));
        done(result);
      }),
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...opts.resourceAttributes,
        [ATTR_SERVICE_NAME]: opts.serviceName,
        [ATTR_SERVICE_VERSION]: opts.serviceVersion,
      }),
    ),
    sampler: sampler(opts),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: opts.scheduleDelayMs })],
  });
  const tracer = provider.getTracer('loupe', opts.serviceVersion);
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const active = () => contexts.active().getValue(OWN) as OtelSpan | undefined;

  const start = (name: string, o: StartOptions = {}): TraceSpan => {
    const parent =
      (o.parent as OtelSpan | undefined)?.context ??
      (o.carrier ? propagator.extract(ROOT_CONTEXT, o.carrier, getter) : contexts.active());
    const links: Link[] = [];
    const remote = o.linkCarrier ? trace.getSpanContext(parent) : undefined;
    if (remote) links.push({ context: remote });
    for (const l of o.links ?? []) if (l instanceof OtelSpan) links.push({ context: l.span.spanContext() });
    const attributes: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(o.attributes ?? {})) if (v !== undefined) attributes[k] = v;
    const span = tracer.startSpan(
      name,
      { kind: KINDS[o.kind ?? 'internal'], attributes, links, ...(o.startTime ? { startTime: o.startTime } : {}) },
      parent,
    );
    return new OtelSpan(span, parent);
  };

  return {
    enabled: true,
    start,
    within: (span, fn) => (span instanceof OtelSpan ? contexts.with(span.context, fn) : fn()),
    async span(name, attributes, fn) {
      const s = start(name, { attributes });
      try {
        return await contexts.with((s as OtelSpan).context, () => fn(s));
      } catch (err) {
        s.fail(err);
        throw err;
      } finally {
        s.end();
      }
    },
    active,
    inject: (carrier) => propagator.inject(contexts.active(), carrier, defaultTextMapSetter),
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()));
      await Promise.race([provider.shutdown().catch(() => undefined), late]);
      clearTimeout(timer);
      contexts.disable();
    },
  };
}
