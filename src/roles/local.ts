import sharp from 'sharp';
import { availableCpus, type Config } from '../config/index.ts';
import { LocalBackend, type LocalBackendOptions } from '../inference/local/index.ts';
import { registerTritonMetrics, type Metrics } from '../observability/index.ts';
import { tracingOf } from './tracing.ts';
import type { RoleDeps } from './deps.ts';

/** In-process inference (serve, model-server), sized to the CPUs this process may use. */
export function createLocalBackend(deps: RoleDeps, metrics: Metrics): LocalBackend {
  // One libvips thread per image and no libvips cache: parallelism comes from decoding several
  // uploads at once on the libuv pool (roles/process.ts sizes it).
  sharp.concurrency(1);
  sharp.cache(false);
  const backend = new LocalBackend({
    options: localBackendOptions(deps.config),
    logger: deps.logger,
    metrics,
    tracing: tracingOf(deps),
  });
  registerTritonMetrics(metrics.registry, () => backend.statistics());
  return backend;
}

/** The local backend's options from the environment. */
export function localBackendOptions(config: Config, cpus = availableCpus(config.LOUPE_CPUS)): LocalBackendOptions {
  return {
    modelStore: config.LOUPE_MODEL_STORE,
    onlyModel: config.LOUPE_MODEL_NAME,
    defaultModel: config.LOUPE_DEFAULT_MODEL,
    maxPixels: config.LOUPE_MAX_PIXELS,
    retryAfterS: config.LOUPE_RETRY_AFTER_S,
    batching: {
      maxBatchSize: config.LOUPE_MAX_BATCH_SIZE,
      maxQueueDelayMs: config.LOUPE_MAX_QUEUE_DELAY_MS,
      maxQueueSize: config.LOUPE_MAX_QUEUE_SIZE,
    },
    session: {
      intraOpThreads: config.LOUPE_INTRA_OP_THREADS || cpus,
      interOpThreads: config.LOUPE_INTER_OP_THREADS || 1,
      executionProviders: config.executionProviders,
      requireGpu: config.LOUPE_REQUIRE_GPU,
      spinning: config.LOUPE_ORT_SPINNING,
      optimizeInChild: config.LOUPE_ORT_OPTIMIZE_IN_CHILD,
    },
    control: {
      mode: config.LOUPE_MODEL_CONTROL,
      startupModels: config.LOUPE_STARTUP_MODELS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
  };
}
