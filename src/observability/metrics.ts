import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { jobMetrics } from './job-metrics.ts';
import { refusalMetrics } from './refusal-metrics.ts';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric Loupe exports, on a registry of its own (no global state; tests build many). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'loupe_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'loupe_http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    grpcRequests: new Counter({
      name: 'loupe_grpc_requests_total',
      help: 'gRPC calls by method and status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    grpcDuration: new Histogram({
      name: 'loupe_grpc_request_duration_seconds',
      help: 'gRPC call latency by method and status code',
      labelNames: ['method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inferenceDuration: new Histogram({
      name: 'loupe_inference_duration_seconds',
      help: 'Time per batch from hand-over to the inference thread until its result is back',
      labelNames: ['model', 'version', 'provider'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inferenceCompute: new Histogram({
      name: 'loupe_inference_compute_seconds',
      help: 'ONNX Runtime compute time per batch, measured on the inference thread',
      labelNames: ['model', 'version', 'provider'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'loupe_batch_size',
      help: 'Images per ONNX Runtime call',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    queueDuration: new Histogram({
      name: 'loupe_queue_duration_seconds',
      help: 'Time a request waited in the batch queue',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'loupe_queue_depth',
      help: 'Requests waiting in the batch queue',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'loupe_rejected_total',
      help: 'Requests refused with 503 because a batch queue was full',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    modelsLoaded: new Gauge({
      name: 'loupe_models_loaded',
      help: 'Model versions loaded and serving',
      registers: [registry],
    }),
    modelErrors: new Gauge({
      name: 'loupe_model_store_errors',
      help: 'Model store entries skipped because they are broken',
      registers: [registry],
    }),
    modelEvents: new Counter({
      name: 'loupe_model_events_total',
      help: 'Model version lifecycle events (loaded, load_failed, unloaded), from the store watch and model control',
      labelNames: ['model', 'version', 'event'],
      registers: [registry],
    }),
    predictions: new Counter({
      name: 'loupe_predictions_total',
      help: 'Images classified by model and version',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    ...jobMetrics(registry),
    ...refusalMetrics(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
