import { statSync } from 'node:fs';
import { ErrorCode, LoupeError, StartupError } from '../../errors.ts';
import { readSample, scanStore, type ModelEntry, type StoreProblem } from '../../models/index.ts';
import { NOOP_TRACING, type Logger, type Metrics, type Tracing } from '../../observability/index.ts';
import { missingDefault, selectVersion } from '../classification.ts';
import type { OipInferRequest, OipInferResponse, TritonModelStatistics } from '../oip/index.ts';
import type { Classification, ClassifyRequest, InferenceBackend, ModelInfo, Readiness, SampleImage } from '../types.ts';
import { loadModel, unloadModel, type LoadedModel } from './load.ts';
import { classifyOn, inferOn, type RunDeps } from './run.ts';
import type { SessionOptions } from './session.ts';

/** What the local backend needs to know, filled by the role from its configuration. */
export interface LocalBackendOptions {
  /** The model store directory and, when not '', the one model name to serve from it. */
  readonly modelStore: string;
  readonly onlyModel: string;
  /** The model a request that names none gets; readiness waits for it. */
  readonly defaultModel: string;
  readonly maxPixels: number;
  readonly retryAfterS: number;
  /** Overrides of every model's batching block: 0 (delay: -1) keeps the model's own. */
  readonly batching: { readonly maxBatchSize: number; readonly maxQueueDelayMs: number; readonly maxQueueSize: number };
  /** Every session's; with `requireGpu` the providers list has no 'cpu'. */
  readonly session: SessionOptions & { readonly requireGpu: boolean };
}

export interface LocalBackendDeps {
  readonly options: LocalBackendOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** OTEL_* tracing: decode, queue, batch and inference spans. */
  readonly tracing?: Tracing | undefined;
}

/** In-process ONNX Runtime: one session and one dynamic batcher per model version. */
export class LocalBackend implements InferenceBackend {
  private readonly deps: LocalBackendDeps;
  private readonly run: RunDeps;
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
    this.run = { metrics: deps.metrics, maxPixels: deps.options.maxPixels, tracing: deps.tracing ?? NOOP_TRACING };
  }

  /** Loads the model store. Idempotent; a broken entry is logged and skipped. */
  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    const { options, logger, metrics } = this.deps;
    const scan = scanStore(options.modelStore, options.onlyModel);
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
    const labels = { model: entry.name, version: entry.version };
    try {
      await this.loadEntry(entry);
      this.deps.metrics.modelEvents.inc({ ...labels, event: 'loaded' });
    } catch (err) {
      this.deps.metrics.modelEvents.inc({ ...labels, event: 'load_failed' });
      // At start, a model that must run on a GPU and cannot stops the process; later, a new
      // version that cannot is skipped like any other broken one.
      if (err instanceof StartupError && !this.started) throw err;
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
      const scan = scanStore(this.deps.options.modelStore, this.deps.options.onlyModel);
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
    const reason = missingDefault(this.deps.options.defaultModel, this.models.keys(), 'loaded');
    return reason ? { ready: false, models, problems, reason } : { ready: true, models, problems };
  }

  listModels(): ModelInfo[] {
    return [...this.models.values()].flatMap((v) => [...v.values()].map((m) => m.info));
  }

  getModel(name: string | undefined, version?: string): ModelInfo {
    return this.resolve(name, version).info;
  }

  private resolve(name: string | undefined, version: string | undefined): LoadedModel {
    if (!this.started) {
      const { retryAfterS } = this.deps.options;
      throw new LoupeError(ErrorCode.NotReady, 'models are still loading', { retryAfterS });
    }
    const modelName = name ?? this.deps.options.defaultModel;
    const versions = this.models.get(modelName) ?? new Map<string, LoadedModel>();
    return versions.get(selectVersion(modelName, [...versions.keys()], version))!;
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

  classify(req: ClassifyRequest): Promise<Classification> {
    return classifyOn(this.resolve(req.model, req.version), req, this.run);
  }

  infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    return inferOn(this.resolve(name, version), req, this.run);
  }

  async statistics(name?: string, version?: string): Promise<TritonModelStatistics[]> {
    if (name === undefined)
      return [...this.models.values()].flatMap((v) => [...v.values()].map((m) => m.stats.snapshot()));
    if (version !== undefined) return [this.resolve(name, version).stats.snapshot()];
    this.resolve(name, undefined); // an unknown model is a 404, not an empty list
    return [...this.models.get(name)!.values()].map((m) => m.stats.snapshot());
  }

  async sample(name: string, version: string | undefined, file: string): Promise<SampleImage> {
    return readSample(this.resolve(name, version).entry, file);
  }
}

function entryKey(e: ModelEntry): string {
  try {
    return `${e.name}/${e.version}@${statSync(e.onnxPath).mtimeMs}:${statSync(e.onnxPath).size}`;
  } catch {
    return `${e.name}/${e.version}@gone`;
  }
}
