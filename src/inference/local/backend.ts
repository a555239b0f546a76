import { statSync } from 'node:fs';
import type { Config } from '../../config/index.ts';
import { ErrorCode, LoupeError } from '../../errors.ts';
import { preprocess, type Preprocessed } from '../../images/index.ts';
import { scanStore, type ModelEntry, type StoreProblem } from '../../models/index.ts';
import type { Logger, Metrics } from '../../observability/index.ts';
import {
  decodeInput,
  encodeOutputs,
  softmax,
  topIndices,
  type OipInferRequest,
  type OipInferResponse,
} from '../oip/index.ts';
import {
  resolveTopK,
  type Classification,
  type ClassifyRequest,
  type InferenceBackend,
  type ModelInfo,
  type Readiness,
} from '../types.ts';
import { loadModel, unloadModel, type LoadedModel } from './load.ts';

export interface LocalBackendDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly cpus: number;
}

/** In-process ONNX Runtime: one session and one dynamic batcher per model version. */
export class LocalBackend implements InferenceBackend {
  private readonly deps: LocalBackendDeps;
  /** name → version → model; versions kept sorted ascending. */
  private readonly models = new Map<string, Map<string, LoadedModel>>();
  private problems: StoreProblem[] = [];
  private started = false;
  private loading: Promise<void> | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private refreshing = false;
  private closed = false;
  /** Versions that failed to load, keyed with model.onnx's mtime so a fixed file is retried. */
  private readonly failedKeys = new Set<string>();

  constructor(deps: LocalBackendDeps) {
    this.deps = deps;
  }

  /** Loads the model store. Idempotent; a broken entry is logged and skipped. */
  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    const { config, logger, metrics } = this.deps;
    const scan = scanStore(config.LOUPE_MODEL_STORE);
    this.problems = [...scan.problems];
    for (const p of scan.problems)
      logger.error(
        { model: p.name, version: p.version, path: p.path },
        `model store: skipped ${p.name}${p.version ? `/${p.version}` : ''}: ${p.error}`,
      );
    for (const entry of scan.entries) await this.tryLoad(entry);
    metrics.modelsLoaded.set(this.listModels().length);
    metrics.modelErrors.set(this.problems.length);
    this.started = true;
  }

  private async tryLoad(entry: ModelEntry): Promise<void> {
    const key = entryKey(entry);
    try {
      await this.loadEntry(entry);
    } catch (err) {
      this.failedKeys.add(key);
      const problem = { name: entry.name, version: entry.version, path: entry.dir, error: (err as Error).message };
      this.problems = [
        ...this.problems.filter((p) => !(p.name === entry.name && p.version === entry.version)),
        problem,
      ];
      this.deps.logger.error(problem, `model store: skipped ${entry.name}/${entry.version}: ${problem.error}`);
    }
  }

  /**
   * Polls the store for new versions (a trainer's output, a copied directory). A version is
   * loaded completely before it becomes the latest, so requests never see a half-loaded one.
   */
  watch(seconds: number): void {
    if (seconds <= 0 || this.watcher) return;
    this.watcher = setInterval(() => {
      void this.refresh();
    }, seconds * 1000);
    this.watcher.unref();
  }

  async refresh(): Promise<void> {
    if (this.refreshing || !this.started || this.closed) return;
    this.refreshing = true;
    try {
      const scan = scanStore(this.deps.config.LOUPE_MODEL_STORE);
      for (const entry of scan.entries) {
        if (this.models.get(entry.name)?.has(entry.version) || this.failedKeys.has(entryKey(entry))) continue;
        await this.tryLoad(entry);
        if (this.models.get(entry.name)?.has(entry.version)) {
          this.problems = this.problems.filter((p) => !(p.name === entry.name && p.version === entry.version));
          this.deps.logger.info(
            { model: entry.name, version: entry.version },
            `new version ${entry.name}/${entry.version} is serving`,
          );
        }
      }
      this.deps.metrics.modelsLoaded.set(this.listModels().length);
      this.deps.metrics.modelErrors.set(this.problems.length);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'model store scan failed');
    } finally {
      this.refreshing = false;
    }
  }

  private async loadEntry(entry: ModelEntry): Promise<void> {
    const model = await loadModel(entry, this.deps);
    if (this.closed) return unloadModel(model); // closed while a watch-triggered load was under way
    const versions = this.models.get(entry.name) ?? new Map<string, LoadedModel>();
    versions.set(entry.version, model);
    this.models.set(entry.name, new Map([...versions].sort(([a], [b]) => Number(a) - Number(b))));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watcher) clearInterval(this.watcher);
    // A load still in progress would otherwise add sessions (live threads) after this returns.
    await this.loading?.catch(() => undefined);
    const all = [...this.models.values()].flatMap((v) => [...v.values()]);
    this.models.clear();
    await Promise.all(all.map(unloadModel));
  }

  readiness(): Readiness {
    const models = this.listModels().map((m) => ({ name: m.name, version: m.version, ready: true }));
    const problems = this.problems;
    if (!this.started) return { ready: false, models, problems, reason: 'models are loading' };
    const defaultModel = this.deps.config.LOUPE_DEFAULT_MODEL;
    if (!this.models.has(defaultModel))
      return { ready: false, models, problems, reason: `the default model "${defaultModel}" is not loaded` };
    return { ready: true, models, problems };
  }

  listModels(): ModelInfo[] {
    return [...this.models.values()].flatMap((v) => [...v.values()].map((m) => m.info));
  }

  getModel(name: string, version?: string): ModelInfo {
    return this.resolve(name, version).info;
  }

  private resolve(name: string | undefined, version: string | undefined): LoadedModel {
    if (!this.started)
      throw new LoupeError(ErrorCode.NotReady, 'models are still loading', {
        retryAfterS: this.deps.config.LOUPE_RETRY_AFTER_S,
      });
    const modelName = name ?? this.deps.config.LOUPE_DEFAULT_MODEL;
    const versions = this.models.get(modelName);
    if (!versions?.size) throw new LoupeError(ErrorCode.ModelNotFound, `model "${modelName}" is not loaded`);
    if (version === undefined) return [...versions.values()].at(-1)!;
    const m = versions.get(String(Number(version)));
    if (!m || !/^\d+$/.test(version))
      throw new LoupeError(
        ErrorCode.ModelNotFound,
        `model "${modelName}" has no version "${version}" (versions: ${[...versions.keys()].join(', ')})`,
      );
    return m;
  }

  checkCapacity(name: string | undefined, version: string | undefined): void {
    let m: LoadedModel;
    try {
      m = this.resolve(name, version);
    } catch {
      return; // unknown models are refused later, with their own error
    }
    m.batcher.checkCapacity();
  }

  async classify(req: ClassifyRequest): Promise<Classification> {
    const started = performance.now();
    const m = this.resolve(req.model, req.version);
    const topK = resolveTopK(req.topK, m.entry.labels.length, m.info.name);
    const { image, release } = await this.decodeAdmitted(m, req.image);
    const result = await m.batcher.submit(image.tensor, release);
    const scores = m.info.output_kind === 'logits' ? softmax(result.output) : result.output;
    const predictions = topIndices(scores, topK).map((index) => ({
      label: m.entry.labels[index]!,
      index,
      score: scores[index]!,
    }));
    const labels = { model: m.info.name, version: m.info.version };
    this.deps.metrics.queueDuration.observe(labels, result.queueMs / 1000);
    this.deps.metrics.predictions.inc(labels);
    return {
      model: { name: m.info.name, version: m.info.version },
      predictions,
      image: { format: image.format, width: image.width, height: image.height },
      timings_ms: round({
        decode: image.timings.decode,
        preprocess: image.timings.preprocess,
        queue: result.queueMs,
        inference: result.inferenceMs,
        total: performance.now() - started,
      }),
    };
  }

  /**
   * Decodes an upload only after reserving its queue place: an overloaded model refuses at
   * once instead of decoding images to drop them. The release goes to batcher.submit().
   */
  private async decodeAdmitted(
    m: LoadedModel,
    bytes: Uint8Array,
  ): Promise<{ image: Preprocessed; release: () => void }> {
    const release = m.batcher.admit();
    try {
      return { image: await preprocess(bytes, m.spec, { maxPixels: this.deps.config.LOUPE_MAX_PIXELS }), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    const m = this.resolve(name, version);
    if (!Array.isArray(req.inputs) || req.inputs.length !== 1) {
      throw new LoupeError(
        ErrorCode.InvalidTensor,
        `model "${m.info.name}" takes exactly one input ("${m.info.inputs[0]!.name}")`,
      );
    }
    const raw = req.inputs[0]!;
    const input = decodeInput(raw, req.binaryInputs?.get(raw.name));
    const want = m.info.inputs[0]!;
    let items: Float32Array[];
    let releases: Array<(() => void) | undefined> = [];
    let imageInfo: { format: string; width: number; height: number; decode: number; preprocess: number } | undefined;
    if (input.kind === 'tensor') {
      if (input.name !== want.name)
        throw new LoupeError(ErrorCode.InvalidTensor, `unknown input "${input.name}"; the model takes "${want.name}"`);
      const [, ...chw] = want.shape;
      if (input.shape.length !== 4 || input.shape.slice(1).some((d, i) => d !== chw[i])) {
        throw new LoupeError(
          ErrorCode.InvalidTensor,
          `input "${input.name}" has shape [${input.shape}]; the model takes [N, ${chw.join(', ')}]`,
        );
      }
      const size = chw.reduce((a, b) => a * b, 1);
      items = Array.from({ length: input.shape[0]! }, (_, i) => input.data.subarray(i * size, (i + 1) * size));
    } else {
      const decoded = await Promise.allSettled(input.images.map((img) => this.decodeAdmitted(m, img)));
      const failed = decoded.find((d) => d.status === 'rejected');
      if (failed) {
        for (const d of decoded) if (d.status === 'fulfilled') d.value.release();
        throw failed.reason;
      }
      const pre = decoded.map((d) => (d as PromiseFulfilledResult<{ image: Preprocessed; release: () => void }>).value);
      items = pre.map((p) => p.image.tensor);
      releases = pre.map((p) => p.release);
      const first = pre[0]!.image;
      if (pre.length === 1)
        imageInfo = { format: first.format, width: first.width, height: first.height, ...first.timings };
    }
    const results = await Promise.all(items.map((t, i) => m.batcher.submit(t, releases[i])));
    this.deps.metrics.predictions.inc({ model: m.info.name, version: m.info.version }, results.length);
    const k = m.entry.labels.length;
    const scores = new Float32Array(results.length * k);
    results.forEach((r, i) => scores.set(r.output, i * k));
    // For a single image, the stage timings and decoded size travel back as response
    // parameters, so a gateway can report them as if it had run the model itself.
    const parameters = imageInfo
      ? {
          loupe_decode_ms: imageInfo.decode,
          loupe_preprocess_ms: imageInfo.preprocess,
          loupe_queue_ms: results[0]!.queueMs,
          loupe_inference_ms: results[0]!.inferenceMs,
          loupe_image_format: imageInfo.format,
          loupe_image_width: imageInfo.width,
          loupe_image_height: imageInfo.height,
        }
      : undefined;
    return {
      model_name: m.info.name,
      model_version: m.info.version,
      ...(req.id !== undefined ? { id: req.id } : {}),
      ...(parameters ? { parameters } : {}),
      outputs: encodeOutputs(req, m.outputName, scores, results.length, m.entry.labels),
    };
  }
}

function entryKey(e: ModelEntry): string {
  try {
    return `${e.name}/${e.version}@${statSync(e.onnxPath).mtimeMs}:${statSync(e.onnxPath).size}`;
  } catch {
    return `${e.name}/${e.version}@gone`;
  }
}

function round(t: Record<keyof Classification['timings_ms'], number>): Classification['timings_ms'] {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    decode: r(t.decode),
    preprocess: r(t.preprocess),
    queue: r(t.queue),
    inference: r(t.inference),
    total: r(t.total),
  };
}
