import type { Carrier, StartOptions, TraceSpan, Tracing } from './types.ts';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-|$)/;

/** The trace id of a W3C `traceparent` (version 00 or later), or '' when it is absent or malformed. */
export function incomingTraceId(carrier: Carrier | undefined): string {
  const raw = carrier?.traceparent;
  const value = Array.isArray(raw) ? raw[0] : raw;
  const m = typeof value === 'string' ? TRACEPARENT.exec(value.trim().toLowerCase()) : null;
  // All zeros is invalid by the specification: no trace.
  return m && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!) && !value!.startsWith('ff') ? m[1]! : '';
}

class NoopSpan implements TraceSpan {
  readonly traceId: string;
  readonly spanId = '';
  constructor(traceId: string) {
    this.traceId = traceId;
  }
  set(): void {}
  fail(): void {}
  end(): void {}
}

const NOOP_SPAN = new NoopSpan('');

/**
 * Tracing off: nothing is recorded, propagated or exported, and no OpenTelemetry module is
 * loaded. A request's own `traceparent` still names its trace, so its log line can be matched
 * with the proxy's or the caller's trace.
 */
export const NOOP_TRACING: Tracing = {
  enabled: false,
  start: (_name: string, opts?: StartOptions) => {
    const id = opts?.carrier ? incomingTraceId(opts.carrier) : '';
    return id ? new NoopSpan(id) : NOOP_SPAN;
  },
  within: (_span, fn) => fn(),
  span: (_name, _attributes, fn) => fn(NOOP_SPAN),
  active: () => undefined,
  inject: () => undefined,
  shutdown: async () => undefined,
};
