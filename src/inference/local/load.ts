import type { PreprocessSpec } from '../../images/index.ts';
import { DEFAULT_BATCHING, checkSession, type ModelEntry } from '../../models/index.ts';
import { StartupError } from '../../errors.ts';
import type { BatchingOverride } from '../control.ts';
import type { ModelInfo } from '../types.ts';
import { Batcher } from './batcher.ts';
import { ModelStats } from './stats.ts';
import type { LocalBackendDeps } from './backend.ts';
import { ThreadSession } from './thread-session.ts';

/** One servable model version: its session thread, its batcher and how APIs describe it. */
export interface LoadedModel {
  readonly entry: ModelEntry;
  readonly info: ModelInfo;
  readonly loaded: ThreadSession;
  readonly batcher: Batcher;
  readonly spec: PreprocessSpec;
  readonly outputName: string;
  /** Triton's inference statistics of this version. */
  readonly stats: ModelStats;
}

/**
 * Starts the session (first execution provider that initialises), checks the graph against
 * model.json and labels.txt, and wires the batcher to the session and the metrics.
 * Throws, with the session released, when the version cannot serve. `override` (a load's
 * config) wins over model.json and the LOUPE_MAX_* overrides.
 */
export async function loadModel(
  entry: ModelEntry,
  deps: LocalBackendDeps,
  override: BatchingOverride = {},
): Promise<LoadedModel> {
  const { options, logger, metrics } = deps;
  const requested = options.session.executionProviders;
  const loaded = await startSession(entry, deps);
  const mismatches = checkSession(entry, loaded);
  if (mismatches.length) {
    await loaded.release();
    throw new Error(mismatches.join('; '));
  }
  const { input } = entry.config;
  const channels = input.color === 'rgb' ? 3 : 1;
  const outputName = entry.config.output.name ?? loaded.outputs[0]!.name;
  const b = { ...DEFAULT_BATCHING, ...entry.config.batching };
  const over = options.batching;
  const batching = {
    max_batch_size: override.max_batch_size ?? (over.maxBatchSize || b.max_batch_size),
    max_queue_delay_ms:
      override.max_queue_delay_ms ?? (over.maxQueueDelayMs >= 0 ? over.maxQueueDelayMs : b.max_queue_delay_ms),
    max_queue_size: override.max_queue_size ?? (over.maxQueueSize || b.max_queue_size),
  };
  const labels = { model: entry.name, version: entry.version };
  const itemSize = channels * input.height * input.width;
  const k = entry.labels.length;
  const stats = new ModelStats(entry.name, entry.version);
  const batcher = new Batcher({
    maxBatchSize: batching.max_batch_size,
    maxQueueDelayMs: batching.max_queue_delay_ms,
    maxQueueSize: batching.max_queue_size,
    itemSize,
    retryAfterS: options.retryAfterS,
    run: async (batch, n) => {
      const { output, computeMs } = await loaded.run(batch, [n, channels, input.height, input.width]);
      metrics.inferenceCompute.observe({ ...labels, provider: loaded.provider }, computeMs / 1000);
      return Array.from({ length: n }, (_, i) => output.slice(i * k, (i + 1) * k));
    },
    onBatch: (n, ms, { inputMs, outputMs }) => {
      stats.batch(n, { inputMs, inferMs: ms, outputMs });
      metrics.batchSize.observe(labels, n);
      metrics.inferenceDuration.observe({ ...labels, provider: loaded.provider }, ms / 1000);
    },
    onQueue: (depth) => metrics.queueDepth.set(labels, depth),
    onReject: () => metrics.rejected.inc(labels),
    tracing: deps.tracing,
    spanAttributes: {
      'loupe.model': entry.name,
      'loupe.model.version': entry.version,
      'loupe.provider': loaded.provider,
    },
  });
  const info: ModelInfo = {
    name: entry.name,
    version: entry.version,
    format: 'onnx',
    platform: 'onnxruntime_onnx',
    inputs: [{ name: input.name, datatype: 'FP32', shape: [-1, channels, input.height, input.width] }],
    outputs: [{ name: outputName, datatype: 'FP32', shape: [-1, k] }],
    labels: entry.labels,
    provider: loaded.provider,
    input,
    output_kind: entry.config.output.kind,
    batching,
    description: entry.config.description,
    card: entry.card,
    precision: entry.config.precision ?? 'fp32',
  };
  if (loaded.optimized.error)
    logger.warn(
      { model: entry.name, version: entry.version, err: loaded.optimized.error },
      `${entry.name}/${entry.version}: graph optimized in-process (it stays resident): ${loaded.optimized.error}`,
    );
  logger.info(
    {
      model: entry.name,
      version: entry.version,
      provider: loaded.provider,
      requested,
      file: loaded.file,
      graph_optimized: loaded.optimized.where,
      batching,
    },
    `loaded ${entry.name}/${entry.version}: requested providers ${requested.join(',')}, active ${loaded.provider}`,
  );
  return { entry, info, loaded, batcher, spec: input, outputName, stats };
}

/** Lets the queued requests finish, then ends the session thread. */
export async function unloadModel(m: LoadedModel): Promise<void> {
  await m.batcher.close();
  await m.loaded.release();
}

/**
 * The session thread, on the first execution provider that initialises. With
 * LOUPE_REQUIRE_GPU the CPU provider is not in the list, so a model that no GPU provider can
 * load is a StartupError naming the model and every provider tried.
 */
async function startSession(entry: ModelEntry, deps: LocalBackendDeps): Promise<ThreadSession> {
  const { logger } = deps;
  const { requireGpu, ...opts } = deps.options.session;
  const io = { inputName: entry.config.input.name, outputName: entry.config.output.name };
  const onFallback = (provider: string, err: Error) =>
    logger.warn(
      { model: entry.name, version: entry.version, provider, err: err.message },
      `execution provider ${provider} failed to initialise for ${entry.name}/${entry.version}; trying the next`,
    );
  try {
    return await ThreadSession.create(entry.onnxPath, opts, io, entry.config.variants ?? {}, onFallback);
  } catch (err) {
    if (!requireGpu) throw err;
    const tried = opts.executionProviders.join(', ');
    throw new StartupError(
      `LOUPE_REQUIRE_GPU is set and no GPU provider could load ${entry.name}/${entry.version} (tried: ${tried}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
