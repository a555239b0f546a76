import * as grpc from '@grpc/grpc-js';
import type { Principal } from '../auth/index.ts';
import { ErrorCode, logLevelOf, type LoupeError } from '../errors.ts';
import { countRefusal, type LogContext, type Logger, type Metrics, type TraceSpan } from '../observability/index.ts';
import { codeName } from './status.ts';

/**
 * Each RPC's twin among the HTTP routes: its access rule comes from the one policy table
 * (src/auth/policy.ts). An RPC missing here is one Loupe does not serve.
 */
export const ROUTES: Readonly<Record<string, readonly [method: string, route: string]>> = {
  ServerLive: ['GET', '/v2/health/live'],
  ServerReady: ['GET', '/v2/health/ready'],
  ServerMetadata: ['GET', '/v2'],
  ModelReady: ['GET', '/v2/models/:model/ready'],
  ModelMetadata: ['GET', '/v2/models/:model'],
  ModelInfer: ['POST', '/v2/models/:model/infer'],
  // Each message of the stream is a ModelInfer request (same scope, limits and budget).
  ModelStreamInfer: ['POST', '/v2/models/:model/infer'],
  ModelConfig: ['GET', '/v2/models/:model/config'],
  ModelStatistics: ['GET', '/v2/models/:model/stats'],
  RepositoryIndex: ['POST', '/v2/repository/index'],
  RepositoryModelLoad: ['POST', '/v2/repository/models/:model/load'],
  RepositoryModelUnload: ['POST', '/v2/repository/models/:model/unload'],
};

/** The RPCs that upload (tensors, images); every other one's message is a name or two. */
export const INFERENCE = new Set(['ModelInfer', 'ModelStreamInfer']);
/** The RPCs whose requests are a stream of messages, each admitted on its own (stream-edge.ts). */
export const STREAMS = new Set(['ModelStreamInfer']);
const PROBES = new Set(['ServerLive', 'ServerReady']);

/** Why the RPCs Loupe does not serve are not served, for their UNIMPLEMENTED answer. */
const UNSUPPORTED: ReadonlyArray<readonly [RegExp, string]> = [
  [/SharedMemory/, 'send tensors in the request (raw_input_contents)'],
  [
    /^TraceSetting$/,
    "Loupe traces with OpenTelemetry, configured by the standard OTEL_* variables (OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_ENDPOINT), not by Triton's trace API",
  ],
  [/^LogSettings$/, 'set LOUPE_LOG_LEVEL'],
];

export function unsupportedReason(method: string): string {
  return UNSUPPORTED.find(([re]) => re.test(method))?.[1] ?? 'Loupe does not serve it';
}

/** The answer to an RPC Loupe does not serve, saying why. */
export function unimplemented(method: string, id: string): grpc.StatusObject {
  const details = `${method} is not supported: ${unsupportedReason(method)} (request id ${id})`;
  return { code: grpc.status.UNIMPLEMENTED, details, metadata: new grpc.Metadata() };
}

export interface CallRecord {
  readonly id: string;
  readonly method: string;
  readonly code: grpc.status;
  readonly seconds: number;
  readonly principal: Principal | undefined;
  readonly failure: { error: LoupeError; original: unknown } | undefined;
  /** What the handler learnt: the model and version it ran. */
  readonly context?: LogContext | undefined;
  /** The call's span: its trace id (and span id, tracing on) go on the log line. */
  readonly span?: TraceSpan | undefined;
}

/** One log line and the metrics of an ended call, as the HTTP app's onResponse hook does for a request. */
export function recordCall(logger: Logger, metrics: Metrics, call: CallRecord): void {
  const name = codeName(call.code);
  const labels = { method: call.method, code: name };
  metrics.grpcRequests.inc(labels);
  metrics.grpcDuration.observe(labels, call.seconds);
  countRefusal(metrics, 'grpc', call.failure?.error);
  const fields: Record<string, unknown> = {
    reqId: call.id,
    rpc: call.method,
    grpc_code: name,
    duration_ms: Math.round(call.seconds * 1e6) / 1000,
  };
  if (call.principal) fields.key_id = call.principal.keyId;
  if (call.span?.traceId) fields.trace_id = call.span.traceId;
  if (call.span?.spanId) fields.span_id = call.span.spanId;
  Object.assign(fields, call.context);
  if (call.failure) {
    fields.code = call.failure.error.code;
    fields.error = call.failure.error.message;
    if (call.failure.error.code === ErrorCode.Internal) fields.err = call.failure.original;
  }
  // A status grpc-js set itself (no LoupeError): INTERNAL/UNKNOWN are faults, UNAVAILABLE a refusal.
  const unmapped = [grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(call.code)
    ? 'error'
    : call.code === grpc.status.UNAVAILABLE
      ? 'warn'
      : 'info';
  const probeOk = PROBES.has(call.method) && call.code === grpc.status.OK;
  const level = call.failure ? logLevelOf(call.failure.error.code) : probeOk ? 'debug' : unmapped;
  logger[level](fields, `gRPC ${call.method} ${name}`);
}
