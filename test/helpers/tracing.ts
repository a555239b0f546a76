import { NOOP_TRACING, type SpanAttributes, type Tracing } from '../../src/observability/index.ts';

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
