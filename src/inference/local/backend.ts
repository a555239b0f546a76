import { statSync } from 'node:fs';
import { ErrorCode, LoupeError, StartupError, quoted } from '../../errors.ts';
import { readSample, scanStore, type ModelEntry } from '../../models/index.ts';
import type { Logger, Metrics } from '../../observability/index.ts';
import { missingDefault, selectVersion } from '../classification.ts';
import type { ControlResult, LoadOptions, ModelControlMode } from '../control.ts';
import type { OipInferRequest, OipInferResponse, TritonModelStatistics } from '../oip/index.ts';
import type { Classification, ClassifyRequest, InferenceBackend, ModelInfo, Readiness, SampleImage } from '../types.ts';
import { Catalog } from './catalog.ts';
import { ModelControl } from './control.ts';
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
  /**
   * Triton's model control mode (default poll) and, in explicit mode, the models loaded at
   * start (`*`: all; empty: the default model).
   */
  readonly control?: { readonly mode: ModelControlMode; readonly startupModels: readonly string[] };
}

export interface LocalBackendDeps {
  readonly options: LocalBackendOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** In-process ONNX Runtime: one session and one dynamic batcher per model version. */
export class LocalBackend implements InferenceBackend {
  private readonly deps: LocalBackendDeps;
  private readonly run: RunDeps;
  private readonly catalog = new Catalog();
  private readonly control: ModelControl;
  private readonly mode: ModelControlMode;
  /** Whether readiness waits for the default model: not once it was unloaded, or left out at an explicit start. */
  private defaultWanted = true;
  private started = false;
  private loading: Promise<void> | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private refreshing = false;
  private closed = false;
  /** Versions that failed to load, keyed with model.onnx's mtime so a fixed file is retried. */
  private readonly failedKeys = new Set<string>();

  constructor(deps: LocalBackendDeps) {
    this.deps = deps;
    this.run = { metrics: deps.metrics, maxPixels: deps.options.maxPixels };
    this.mode = deps.options.control?.mode ?? 'poll';
    this.control = new ModelControl({
      deps,
      catalog: this.catalog,
      mode: this.mode,
      closed: () => this.closed,
      changed: (model) => {
        if (model?.name === deps.options.defaultModel) this.defaultWanted = model.wanted;
        this.updateGauges();
      },
    });
  }

  /** Loads the model store. Idempotent; a broken entry is logged and skipped. */
  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    const { options, logger } = this.deps;
    const scan = scanStore(options.modelStore, options.onlyModel);
    this.catalog.problems = scan.problems;
    for (const p of scan.problems)
      logger.error(
        { model: p.name, version: p.version, path: p.path },
        `model store: skipped ${p.name}${p.version ? `/${p.version}` : ''}: ${p.error}`,
      );
    const atStart = this.startupFilter();
    this.defaultWanted = atStart(options.defaultModel);
    for (const entry of scan.entries) {
      if (atStart(entry.name)) await this.tryLoad(entry);
      else this.catalog.setState(entry.name, entry.version, 'UNAVAILABLE', 'not loaded: not in LOUPE_STARTUP_MODELS');
    }
    this.updateGauges();
    this.started = true;
  }

  /** Which models load at start: all of them, but in explicit mode only LOUPE_STARTUP_MODELS. */
  private startupFilter(): (name: string) => boolean {
    const { control, defaultModel } = this.deps.options;
    if (this.mode !== 'explicit') return () => true;
    const list = control?.startupModels.length ? control.startupModels : [defaultModel];
    return list.includes('*') ? () => true : (name) => list.includes(name);
  }

  private updateGauges(): void {
    this.deps.metrics.modelsLoaded.set(this.listModels().length);
    this.deps.metrics.modelErrors.set(this.catalog.problems.length);
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
      this.catalog.setProblem(problem);
      this.deps.logger.error(problem, `model store: skipped ${entry.name}/${entry.version}: ${problem.error}`);
    }
  }

  /**
   * Polls the store for new versions (a trainer's output, a copied directory). A version is
   * loaded completely before it becomes the latest, so requests never see a half-loaded one.
   * Only in poll mode: explicit and none change only on load/unload calls, or never.
   */
  watch(seconds: number): void {
    if (seconds <= 0 || this.watcher || this.mode !== 'poll') return;
    this.watcher = setInterval(() => {
      void this.refresh();
    }, seconds * 1000);
    this.watcher.unref();
  }

  async refresh(): Promise<void> {
    if (this.refreshing || !this.started || this.closed || this.mode !== 'poll') return;
    this.refreshing = true;
    try {
      const scan = scanStore(this.deps.options.modelStore, this.deps.options.onlyModel);
      for (const entry of scan.entries) {
        if (this.catalog.has(entry.name, entry.version) || this.failedKeys.has(entryKey(entry))) continue;
        await this.tryLoad(entry);
        if (this.catalog.has(entry.name, entry.version)) {
          this.catalog.clearProblem(entry.name, entry.version);
          this.deps.logger.info(
            { model: entry.name, version: entry.version },
            `new version ${entry.name}/${entry.version} is serving`,
          );
        }
      }
      this.updateGauges();
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'model store scan failed');
    } finally {
      this.refreshing = false;
    }
  }

  private async loadEntry(entry: ModelEntry): Promise<void> {
    const model = await loadModel(entry, this.deps);
    if (this.closed) return unloadModel(model); // closed while a watch-triggered load was under way
    this.catalog.add(model);
  }

  async loadModel(name: string, opts: LoadOptions): Promise<ControlResult> {
    if (!this.started) throw this.notStarted();
    return this.control.load(name, opts);
  }

  async unloadModel(name: string): Promise<ControlResult> {
    if (!this.started) throw this.notStarted();
    return this.control.unload(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watcher) clearInterval(this.watcher);
    // A load still in progress would otherwise add sessions (live threads) after this returns.
    await this.loading?.catch(() => undefined);
    await this.control.settled();
    await Promise.all(this.catalog.clear().map(unloadModel));
  }

  readiness(): Readiness {
    const models = this.listModels().map((m) => ({ name: m.name, version: m.version, ready: true }));
    const { problems } = this.catalog;
    const states = this.catalog.statuses();
    if (!this.started) return { ready: false, models, problems, states, reason: 'models are loading' };
    const reason = this.defaultWanted
      ? missingDefault(this.deps.options.defaultModel, this.catalog.names(), 'loaded')
      : undefined;
    return reason ? { ready: false, models, problems, states, reason } : { ready: true, models, problems, states };
  }

  listModels(): ModelInfo[] {
    return this.catalog.infos();
  }

  getModel(name: string | undefined, version?: string): ModelInfo {
    return this.resolve(name, version).info;
  }

  private notStarted(): LoupeError {
    const { retryAfterS } = this.deps.options;
    return new LoupeError(ErrorCode.NotReady, 'models are still loading', { retryAfterS });
  }

  private resolve(name: string | undefined, version: string | undefined): LoadedModel {
    if (!this.started) throw this.notStarted();
    const modelName = name ?? this.deps.options.defaultModel;
    const versions = this.catalog.versions(modelName);
    if (!versions) {
      // As Triton answers a model that is in the repository but not loaded.
      const state = this.catalog.stateOf(modelName);
      if (state)
        throw new LoupeError(ErrorCode.ModelNotFound, `model ${quoted(modelName)} is unavailable (${state.reason})`);
    }
    const found = versions ?? new Map<string, LoadedModel>();
    return found.get(selectVersion(modelName, [...found.keys()], version))!;
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
    if (name === undefined) return this.catalog.list().map((m) => m.stats.snapshot());
    if (version !== undefined) return [this.resolve(name, version).stats.snapshot()];
    this.resolve(name, undefined); // an unknown model is a 404, not an empty list
    return [...this.catalog.versions(name)!.values()].map((m) => m.stats.snapshot());
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
