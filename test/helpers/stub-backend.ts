import { ErrorCode, LoupeError, quoted } from '../../src/errors.ts';
import {
  checkOutputs,
  decodeInput,
  encodeOutputs,
  resolveTopK,
  selectVersion,
  toPredictions,
} from '../../src/inference/index.ts';
import type {
  Classification,
  ControlResult,
  ControlParameters,
  ClassifyRequest,
  InferenceBackend,
  ModelInfo,
  OipInferRequest,
  OipInferResponse,
  Readiness,
  SampleImage,
  TritonModelStatistics,
} from '../../src/inference/index.ts';

/**
 * An InferenceBackend without ONNX Runtime, for route and transport tests: the catalog rules
 * (default model, versions, top-k) are the real shared ones, the scores are fixed per model,
 * OIP requests go through the shared OIP codec (shape, datatype, BYTES lengths, outputs and
 * classification counts) as a real backend's do, and `fail` makes the next calls throw what a
 * real backend would (overload, a crash).
 * Everything an image decoder would say about the upload is the test's to choose.
 */
export class StubBackend implements InferenceBackend {
  readonly calls: ClassifyRequest[] = [];
  /** Model control calls, in order, as the routes handed them over. */
  readonly controlCalls: Array<{ op: 'load' | 'unload'; name: string; parameters?: ControlParameters }> = [];
  /** Thrown by classify/infer while set. */
  fail: Error | undefined;
  private readonly models: ModelInfo[];
  private readonly defaultModel: string;

  constructor(models: ModelInfo[] = [stubModel('stub', '1'), stubModel('stub', '2')], defaultModel = 'stub') {
    this.models = models;
    this.defaultModel = defaultModel;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  readiness(): Readiness {
    const models = this.models.map((m) => ({ name: m.name, version: m.version, ready: true }));
    return { ready: true, models, problems: [] };
  }

  listModels(): ModelInfo[] {
    return this.models;
  }

  getModel(requested: string | undefined, version?: string): ModelInfo {
    const name = requested ?? this.defaultModel;
    const versions = this.models.filter((m) => m.name === name);
    const v = selectVersion(
      name,
      versions.map((m) => m.version),
      version,
    );
    return versions.find((m) => m.version === v)!;
  }

  checkCapacity(): void {
    if (this.fail) throw this.fail;
  }

  async classify(req: ClassifyRequest): Promise<Classification> {
    this.calls.push(req);
    if (this.fail) throw this.fail;
    const m = this.getModel(req.model, req.version);
    const topK = resolveTopK(req.topK, m.labels.length, m.name);
    const scores = Float32Array.from(m.labels, (_, i) => m.labels.length - i);
    return {
      model: { name: m.name, version: m.version },
      predictions: toPredictions(scores, { ...m, output_kind: 'probabilities' }, topK),
      image: { format: 'png', width: 1, height: 1 },
      timings_ms: { decode: 0, preprocess: 0, queue: 0, inference: 0, total: 0 },
      warnings: [],
    };
  }

  async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    if (this.fail) throw this.fail;
    const m = this.getModel(name, version);
    const outputName = m.outputs[0]!.name;
    if (req.inputs?.length !== 1)
      throw new LoupeError(ErrorCode.InvalidTensor, `model ${quoted(m.name)} takes exactly one input`);
    checkOutputs(req, outputName, m.labels.length);
    const input = decodeInput(req.inputs[0]!);
    const n = input.kind === 'tensor' ? input.shape[0]! : input.images.length;
    const k = m.labels.length;
    const scores = Float32Array.from({ length: n * k }, (_, i) => k - (i % k));
    return {
      model_name: m.name,
      model_version: m.version,
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: encodeOutputs(req, outputName, scores, n, m.labels),
    };
  }

  async statistics(): Promise<TritonModelStatistics[]> {
    return [];
  }

  async loadModel(name: string, parameters: ControlParameters = {}): Promise<ControlResult> {
    this.controlCalls.push({ op: 'load', name, parameters });
    if (this.fail) throw this.fail;
    this.getModel(name);
    return {};
  }

  async unloadModel(name: string): Promise<ControlResult> {
    this.controlCalls.push({ op: 'unload', name });
    if (this.fail) throw this.fail;
    this.getModel(name);
    return {};
  }

  /** Stub models have no card, so no sample images. */
  async sample(name: string, version: string | undefined, file: string): Promise<SampleImage> {
    const m = this.getModel(name, version);
    throw new LoupeError(ErrorCode.NotFound, `model "${m.name}" has no sample image "${file}"`);
  }
}

/** A model as a backend describes it: 1×3×2×2 RGB in, three labels out. */
export function stubModel(name: string, version: string, labels = ['cat', 'dog', 'fox']): ModelInfo {
  return {
    name,
    version,
    format: 'onnx',
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 2, 2] }],
    outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, labels.length] }],
    labels,
    provider: 'cpu',
    input: {
      name: 'input',
      color: 'rgb',
      width: 2,
      height: 2,
      resize: 'stretch',
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    output_kind: 'probabilities',
    batching: { max_batch_size: 8, max_queue_delay_ms: 0, max_queue_size: 64 },
    description: `${name} for route tests`,
  };
}
