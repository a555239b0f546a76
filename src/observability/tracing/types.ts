/** Span attribute values as OpenTelemetry takes them; undefined ones are left out. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** Headers or gRPC metadata a trace context is read from (`traceparent`, `tracestate`). */
export type Carrier = Readonly<Record<string, string | readonly string[] | undefined>>;

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span in progress. When tracing is off it records nothing, but may still name an incoming trace. */
export interface TraceSpan {
  /** 32 hex digits, or '' when there is no trace. */
  readonly traceId: string;
  /** 16 hex digits, or '' when no span is recorded (tracing off). */
  readonly spanId: string;
  set(attributes: SpanAttributes): void;
  /** Records the error on the span and marks it failed. */
  fail(err: unknown): void;
  /** Ends the span, at `endTime` (performance.now() ms) when given. */
  end(endTime?: number): void;
}

export interface StartOptions {
  /** The parent span; else the one active (within), else the remote parent in `carrier`, else a new trace. */
  readonly parent?: TraceSpan | undefined;
  /** A request's headers or metadata: its `traceparent` is the parent (server and consumer spans). */
  readonly carrier?: Carrier | undefined;
  /** Links to the carrier's span as well as starting under it (a consumer of a queued message). */
  readonly linkCarrier?: boolean | undefined;
  readonly kind?: SpanKind | undefined;
  readonly attributes?: SpanAttributes | undefined;
  /** Spans this one is about without being their child (a batch and the requests in it). */
  readonly links?: ReadonlyArray<TraceSpan | undefined> | undefined;
  /** performance.now() ms, for a span recorded once its start is past (time spent queued). */
  readonly startTime?: number | undefined;
}

/**
 * Loupe's tracing: one object per process, passed down like the logger and metrics. Off, it is
 * NOOP_TRACING and nothing of OpenTelemetry is loaded; on, the SDK behind it (otel.ts).
 */
export interface Tracing {
  readonly enabled: boolean;
  start(name: string, opts?: StartOptions): TraceSpan;
  /** Runs `fn` with `span` active: spans started inside, and outgoing calls, are its children. */
  within<T>(span: TraceSpan | undefined, fn: () => T): T;
  /** Runs `fn` in a new child of the active span, ended when `fn` settles (failed when it throws). */
  span<T>(name: string, attributes: SpanAttributes, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** The active span, to carry across a queue; undefined when none (or tracing is off). */
  active(): TraceSpan | undefined;
  /** Writes `traceparent` (and `tracestate`) of the active span into outgoing headers or a queued job. */
  inject(carrier: Record<string, string>): void;
  /** Exports what is left, then stops; bounded by `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** What tracing is built from: the OTEL_* configuration mapped by the role. */
export interface TracingOptions {
  readonly exporter: 'otlp' | 'console';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: string;
  readonly ratio: number;
  readonly scheduleDelayMs: number;
}
