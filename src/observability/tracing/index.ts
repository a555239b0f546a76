export type { Carrier, SpanAttributes, SpanKind, StartOptions, TraceSpan, Tracing, TracingOptions } from './types.ts';
export { NOOP_TRACING, incomingTraceId } from './noop.ts';
import type { Tracing, TracingOptions } from './types.ts';

/**
 * The OpenTelemetry SDK behind Loupe's Tracing, loaded by this call only: a role calls it when
 * OTEL_* turns tracing on, and a process that does not trace never maps the SDK.
 */
export async function loadTracing(options: TracingOptions, onExportError?: (err: Error) => void): Promise<Tracing> {
  return (await import('./otel.ts')).createOtelTracing(options, onExportError);
}
