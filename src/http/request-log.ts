import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, logLevelOf, type LoupeError } from '../errors.ts';
import { countRefusal, type LogContext, type Metrics } from '../observability/index.ts';

/** Probes that orchestrators call every few seconds: logged at debug, not info. */
const PROBES = new Set(['/livez', '/readyz', '/healthz', '/v2/health/live', '/v2/health/ready']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The error this request was answered with (set by sendError), for its log line. */
    loupeError?: { error: LoupeError; original: Error } | undefined;
    /** Model, version, prediction or job of this request (noteForLog), for its log line. */
    logContext?: LogContext | undefined;
  }
}

/** Adds what a route learnt (the model and version it ran, the record it made) to the request's log line. */
export function noteForLog(req: FastifyRequest, context: LogContext): void {
  req.logContext = { ...req.logContext, ...context };
}

/**
 * One log line per request, when its response is sent: method, route, status, duration,
 * (through the request logger) the request id, the key id, and what the route noted (model,
 * version, prediction or job id); a refused request adds its error code and message, a
 * failed one its error. The same onResponse hook feeds the HTTP metrics.
 */
export function requestLogHook(metrics: Metrics) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const labels = { route, method: req.method, status: String(status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    const fields: Record<string, unknown> = {
      method: req.method,
      route,
      status,
      duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    if (req.principal) fields.key_id = req.principal.keyId; // the key's public id, never the key
    if (req.traceSpan?.traceId) fields.trace_id = req.traceSpan.traceId;
    if (req.traceSpan?.spanId) fields.span_id = req.traceSpan.spanId;
    Object.assign(fields, req.logContext);
    const failure = req.loupeError;
    countRefusal(metrics, 'http', failure?.error);
    if (failure) {
      fields.code = failure.error.code;
      fields.error = failure.error.message;
      if (failure.error.code === ErrorCode.Internal) fields.err = failure.original; // the stack, for a real 500 only
    }
    // Fastify answers some 503s itself (return503OnClosing during a drain): no LoupeError there.
    const unmapped = status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
    const level = failure ? logLevelOf(failure.error.code) : PROBES.has(route) ? 'debug' : unmapped;
    req.log[level](fields, `${req.method} ${route} ${status}`);
  };
}
