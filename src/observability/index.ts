export { createLogger, type LogFormat, type Logger } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { registerJobGauges, type DeliveryOutcome, type JobBacklog } from './job-metrics.ts';
export type { LogContext } from './log-context.ts';
export { countRefusal, type Transport } from './refusal-metrics.ts';
export { registerBuildInfo, type BuildInfo } from './build-info.ts';
export { registerTritonMetrics, type ModelStatisticsView } from './triton-metrics.ts';
export {
  NOOP_TRACING,
  incomingTraceId,
  loadTracing,
  type Carrier,
  type SpanAttributes,
  type TraceSpan,
  type Tracing,
  type TracingOptions,
} from './tracing/index.ts';
