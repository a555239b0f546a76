import { ErrorCode, LoupeError } from '../../errors.ts';
import { NOOP_TRACING, type Logger, type Metrics, type Tracing } from '../../observability/index.ts';
import { missingDefault, resolveTopK, selectVersion, toPredictions } from '../classification.ts';
import {
  HEADER_LENGTH,
  decodeInferResponse,
  encodeBytesElements,
  encodeInferRequest,
  float32FromBytes,
  readImageParameters,
  sumStatistics,
  type OipInferRequest,
  type OipInferResponse,
  type TritonModelStatistics,
} from '../oip/index.ts';
import type { ControlParameters, ControlResult } from '../control.ts';
import type { Classification, ClassifyRequest, InferenceBackend, ModelInfo, Readiness, SampleImage } from '../types.ts';
import { fanOut } from './control.ts';
import type { Lookup } from './endpoints.ts';
import { everyReplica } from './every.ts';
import { ModelList } from './model-list.ts';
import { Replicas } from './replicas.ts';

/** What the remote backend needs to know, filled by the role from its configuration. */
export interface RemoteBackendOptions {
  /** The model service: one URL (a DNS name whose addresses are the replicas) or several, comma-separated. */
  readonly modelServerUrl: string;
  /** The model a request that names none gets; readiness waits for it. */
  readonly defaultModel: string;
  readonly retryAfterS: number;
  /** How often the replicas and their models are re-read. */
  readonly pollS: number;
}

export interface RemoteBackendDeps {
  readonly options: RemoteBackendOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** OTEL_* tracing: each call to a model server is a client span, its traceparent sent along. */
  readonly tracing?: Tracing | undefined;
  /** How the model service's name becomes replicas' addresses: DNS unless a test says otherwise. */
  readonly lookup?: Lookup | undefined;
}

/**
 * Inference on model servers over the Open Inference Protocol. Images go untouched as a
 * binary BYTES input (the model server preprocesses with the model's own config); scores come
 * back as binary FP32. Replicas retries a request whose replica fails on another one.
 */
export class RemoteBackend implements InferenceBackend {
  private readonly deps: RemoteBackendDeps;
  private readonly replicas: Replicas;
  private readonly list: ModelList;
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(deps: RemoteBackendDeps) {
    this.deps = deps;
    const { modelServerUrl: url, retryAfterS } = deps.options;
    const tracing = deps.tracing ?? NOOP_TRACING;
    this.replicas = new Replicas({ url, retryAfterS, logger: deps.logger, tracing, lookup: deps.lookup });
    this.list = new ModelList(this.replicas, deps.metrics);
  }

  private get models(): ModelInfo[] {
    return this.list.models;
  }

  /** Resolves the replicas and learns the models; keeps doing so every LOUPE_MODEL_POLL_S. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.refresh();
    const every = Math.max(1, this.deps.options.pollS || 5);
    this.timer = setInterval(() => void this.refresh(), every * 1000);
    this.timer.unref();
  }

  /** Re-reads the model list (model-list.ts), after the refresh under way if any. */
  refresh(): Promise<void> {
    return this.list.refresh();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.replicas.close();
  }

  readiness(): Readiness {
    const models = this.models.map((m) => ({ name: m.name, version: m.version, ready: true }));
    const { states, lastError } = this.list;
    if (this.replicas.size === 0 || this.models.length === 0) {
      const why = lastError ? ` (${lastError})` : '';
      const reason = `no model server answers at ${this.deps.options.modelServerUrl}${why}`;
      return { ready: false, models, problems: [], states, reason };
    }
    const reason = missingDefault(
      this.deps.options.defaultModel,
      this.models.map((m) => m.name),
      'served',
    );
    return reason
      ? { ready: false, models, problems: [], states, reason }
      : { ready: true, models, problems: [], states };
  }

  listModels(): ModelInfo[] {
    return this.models;
  }

  getModel(requested: string | undefined, version?: string): ModelInfo {
    if (this.models.length === 0) {
      const { modelServerUrl: url, retryAfterS } = this.deps.options;
      throw new LoupeError(ErrorCode.NotReady, `no model server has answered yet at ${url}`, { retryAfterS });
    }
    const name = requested ?? this.deps.options.defaultModel;
    const versions = this.models.filter((m) => m.name === name);
    const v = selectVersion(
      name,
      versions.map((m) => m.version),
      version,
    );
    return versions.find((m) => m.version === v)!;
  }

  /** The model servers apply backpressure themselves; their 503s pass through. */
  checkCapacity(): void {}

  async classify(req: ClassifyRequest): Promise<Classification> {
    const started = performance.now();
    const m = this.getModel(req.model, req.version);
    const topK = resolveTopK(req.topK, m.labels.length, m.name);
    const res = await this.infer(m.name, req.version === undefined ? undefined : m.version, {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', binary: encodeBytesElements([req.image]) }],
      outputs: [{ name: m.outputs[0]!.name, parameters: { binary_data: true } }],
    });
    const out = res.outputs[0]!;
    const raw = out.binary ? float32FromBytes(out.binary) : Float32Array.from(out.data as number[]);
    const model = { name: res.model_name, version: res.model_version ?? m.version };
    this.deps.metrics.predictions.inc({ model: model.name, version: model.version });
    return {
      model,
      predictions: toPredictions(raw, m, topK),
      ...readImageParameters(res.parameters, performance.now() - started),
    };
  }

  async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    const v = version ? `/versions/${encodeURIComponent(version)}` : '';
    const { body, headerLength } = encodeInferRequest(req);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (headerLength !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers[HEADER_LENGTH] = String(headerLength);
    }
    const answer = await this.replicas.send('POST', `/v2/models/${encodeURIComponent(name)}${v}/infer`, body, headers);
    const length = answer.headers[HEADER_LENGTH];
    try {
      return decodeInferResponse(answer.body, Array.isArray(length) ? length[0] : length);
    } catch (err) {
      throw new LoupeError(ErrorCode.Internal, 'a model server sent an unreadable answer', { cause: err });
    }
  }

  /** A sample image, from whichever model server answers (they share the model store). */
  async sample(name: string, version: string | undefined, file: string): Promise<SampleImage> {
    const m = this.getModel(name, version);
    if (!m.card?.samples.includes(file))
      throw new LoupeError(ErrorCode.NotFound, `model "${m.name}" has no sample image "${file}"`);
    const path = `/models/${encodeURIComponent(m.name)}/samples/${encodeURIComponent(file)}?version=${m.version}`;
    const answer = await this.replicas.send('GET', path);
    return { bytes: answer.body, contentType: String(answer.headers['content-type'] ?? 'application/octet-stream') };
  }

  /** Every replica loads or unloads (remote/control.ts); the model list is re-read at once. */
  async loadModel(name: string, parameters: ControlParameters = {}): Promise<ControlResult> {
    return this.afterwards(fanOut(this.replicas, 'load', name, parameters));
  }

  async unloadModel(name: string, parameters: ControlParameters = {}): Promise<ControlResult> {
    return this.afterwards(fanOut(this.replicas, 'unload', name, parameters));
  }

  private async afterwards(call: Promise<ControlResult>): Promise<ControlResult> {
    try {
      return await call;
    } finally {
      await this.refresh();
    }
  }

  /** The whole model service's statistics: every replica's, added up. */
  async statistics(name?: string, version?: string): Promise<TritonModelStatistics[]> {
    // Unknown names and versions are refused here, as a model server would (404).
    const exact = name === undefined ? undefined : this.getModel(name, version).version;
    const parts = await everyReplica<{ model_stats?: TritonModelStatistics[] }>(this.replicas, '/v2/models/stats');
    return sumStatistics(parts.map((p) => p.model_stats ?? [])).filter(
      (s) => (name === undefined || s.name === name) && (version === undefined || s.version === exact),
    );
  }
}
