import * as grpc from '@grpc/grpc-js';
import type { LoupeError } from '../errors.ts';
import type { Carrier, TraceSpan, Tracing } from '../observability/index.ts';

/** The statuses the semantic conventions count as the server's failure (the others are the caller's). */
const SERVER_FAULTS = new Set([
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** A call's server span under its metadata's traceparent; off, only what that traceparent names. */
export function startCallSpan(tracing: Tracing, method: string, id: string, carrier: Carrier): TraceSpan {
  if (!tracing.enabled) return tracing.start(method, { carrier });
  return tracing.start(`inference.GRPCInferenceService/${method}`, {
    kind: 'server',
    carrier,
    attributes: {
      'rpc.system': 'grpc',
      'rpc.service': 'inference.GRPCInferenceService',
      'rpc.method': method,
      'loupe.request_id': id,
    },
  });
}

/** Ends the call's span (and its receive span, if the message never came) with its status. */
export function endCallSpan(
  span: TraceSpan,
  receiving: TraceSpan | undefined,
  code: grpc.status,
  failure: { error: LoupeError; original: unknown } | undefined,
): void {
  receiving?.fail(new Error('the call ended before its message arrived'));
  receiving?.end();
  span.set({ 'rpc.grpc.status_code': code, 'loupe.error.code': failure?.error.code });
  if (SERVER_FAULTS.has(code)) span.fail(failure?.original ?? new Error(`gRPC status ${code}`));
  span.end();
}
