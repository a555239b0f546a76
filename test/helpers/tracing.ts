import { NOOP_TRACING, type SpanAttributes, type Tracing, type TracingOptions } from '../../src/observability/index.ts';

/** The real SDK exporting to a port nothing listens on: the export fails quietly, as against a receiver that is down. */
export const SDK_TO_NOWHERE: TracingOptions = {
  exporter: 'otlp',
  url: 'http://127.0.0.1:9/v1/traces',
  headers: {},
  serviceName: 'test',
  serviceVersion: '0',
  resourceAttributes: {},
  sampler: 'always_on',
  ratio: 1,
  scheduleDelayMs: 600_000,
};

/** One span a RecordingTracing was asked for, and what became of it. */
export interface RecordedSpan {
  readonly name: string;
  readonly kind?: string | undefined;
  readonly attrs: Record<string, SpanAttributes[string]>;
  failed: boolean;
  ended: boolean;
}

/** A Tracing (enabled) that remembers every span asked of it, without an SDK or exporter. */
export function recordingTracing(): { tracing: Tracing; log: RecordedSpan[] } {
  const log: RecordedSpan[] = [];
  const tracing: Tracing = {
    ...NOOP_TRACING,
    enabled: true,
    start: (name, o = {}) => {
      const entry: RecordedSpan = { name, kind: o.kind, attrs: { ...o.attributes }, failed: false, ended: false };
      log.push(entry);
      return {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        set: (a) => Object.assign(entry.attrs, a),
        fail: () => (entry.failed = true),
        end: () => (entry.ended = true),
      };
    },
  };
  return { tracing, log };
}
