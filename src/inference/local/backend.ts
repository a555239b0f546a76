import { ErrorCode, LoupeError, quoted } from '../../errors.ts';
import { readSample, scanStore } from '../../models/index.ts';
import { NOOP_TRACING, type Logger, type Metrics, type Tracing } from '../../observability/index.ts';
import { missingDefault, selectVersion } from '../classification.ts';
import type { ControlParameters, ControlResult, ModelControlMode } from '../control.ts';
import type { OipInferRequest, OipInferResponse, TritonModelStatistics } from '../oip/index.ts';
import type { Classification, ClassifyRequest, InferenceBackend, ModelInfo, Readiness, SampleImage } from '../types.ts';
import { Catalog } from './catalog.ts';
import { ModelControl } from './control.ts';
import { unloadModel, type LoadedModel } from './load.ts';
import { classifyOn, inferOn, type RunDeps } from './run.ts';
import type { SessionOptions } from './session.ts';
import { StoreWatch } from './store-watch.ts';

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
  /** OTEL_* tracing: decode, queue, batch and inference spans. */
  readonly tracing?: Tracing | undefined;
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
  private closed = false;
  private readonly store: StoreWatch;

  constructor(deps: LocalBackendDeps) {
    this.deps = deps;
    this.run = { metrics: deps.metrics, maxPixels: deps.options.maxPixels, tracing: deps.tracing ?? NOOP_TRACING };
    this.mode = deps.options.control?.mode ?? 'poll';
    this.store = new StoreWatch({
      deps,
      catalog: this.catalog,
      started: () => this.started,
      closed: () => this.closed,
      changed: () => this.updateGauges(),
    });
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
    const startup = options.control?.startupModels ?? [];
    if (this.mode !== 'explicit' && startup.length)
      logger.warn(`LOUPE_STARTUP_MODELS is read only with LOUPE_MODEL_CONTROL=explicit (it is ${this.mode})`);
    const inStore = new Set([...scan.entries, ...scan.problems].map((e) => e.name));
    for (const name of startup)
      if (this.mode === 'explicit' && name !== '*' && !inStore.has(name))
        logger.warn({ model: name }, `LOUPE_STARTUP_MODELS names ${name}, which the model store does not have`);
    for (const entry of scan.entries) {
      if (atStart(entry.name)) await this.store.tryLoad(entry);
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

  /** Poll mode only: explicit and none change only on load/unload calls, or never. */
  watch(seconds: number): void {
    if (this.mode === 'poll') this.store.watch(seconds);
  }

  async refresh(): Promise<void> {
    if (this.mode === 'poll') await this.store.refresh();
  }

  async loadModel(name: string, parameters: ControlParameters = {}): Promise<ControlResult> {
    if (!this.started) throw this.notStarted();
    return this.control.load(name, parameters);
  }

  async unloadModel(name: string, parameters: ControlParameters = {}): Promise<ControlResult> {
    if (!this.started) throw this.notStarted();
    return this.control.unload(name, parameters);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.store.stop();
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
