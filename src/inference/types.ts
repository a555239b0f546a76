import type { ImageWarning } from '../images/index.ts';
import type { ModelCard, ModelConfig } from '../models/index.ts';
import type { OipInferRequest, OipInferResponse } from './oip/types.ts';
import type { TritonModelStatistics } from './oip/triton-types.ts';
import type { ControlParameters, ControlResult } from './control.ts';

export interface TensorInfo {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** A model version as every API describes it, whichever backend serves it. */
export interface ModelInfo {
  readonly name: string;
  readonly version: string;
  readonly format: 'onnx';
  readonly platform: 'onnxruntime_onnx';
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly labels: readonly string[];
  readonly provider: string;
  readonly input: ModelConfig['input'];
  readonly output_kind: ModelConfig['output']['kind'];
  readonly batching: { max_batch_size: number; max_queue_delay_ms: number; max_queue_size: number };
  readonly description?: string | undefined;
  /** What it was trained on, its accuracy, its sample images (absent from an older model server). */
  readonly card?: ModelCard | undefined;
  /** model.json's precision; absent means fp32. int8 marks a quantized graph. */
  readonly precision?: ModelConfig['precision'];
}

export interface Prediction {
  readonly label: string;
  readonly index: number;
  readonly score: number;
}

export interface Timings {
  decode: number;
  preprocess: number;
  queue: number;
  inference: number;
  total: number;
}

export interface ClassifyRequest {
  readonly model?: string | undefined;
  readonly version?: string | undefined;
  readonly image: Uint8Array;
  /** Labels to return; default 5, or every class when the model has fewer. */
  readonly topK?: number | undefined;
}

export interface Classification {
  readonly model: { name: string; version: string };
  readonly predictions: Prediction[];
  readonly image: { format: string; width: number; height: number };
  readonly timings_ms: Timings;
  /** How far the image is from what the model was trained on (empty: nothing to say). */
  readonly warnings: ImageWarning[];
}

export interface Readiness {
  readonly ready: boolean;
  readonly models: ReadonlyArray<{ name: string; version: string; ready: boolean }>;
  readonly problems: ReadonlyArray<{ name: string; version?: string | undefined; path: string; error: string }>;
  readonly reason?: string | undefined;
  /** Store versions neither serving nor failed: loading, unloading, unloaded (Triton's index states). */
  readonly states?: readonly VersionStatus[] | undefined;
}

/** A store version that does not serve and is not broken, as Triton's repository index shows it. */
export interface VersionStatus {
  readonly name: string;
  readonly version: string;
  readonly state: 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  readonly reason: string;
}

/**
 * The hinge between "one process" and "the stack": HTTP routes and the job worker talk to
 * this, and only the composition root decides whether it is in-process ONNX Runtime
 * (LocalBackend) or model servers over the Open Inference Protocol (RemoteBackend).
 */
export interface InferenceBackend {
  start(): Promise<void>;
  close(): Promise<void>;
  readiness(): Readiness;
  listModels(): ModelInfo[];
  /**
   * The default model when `name` is omitted, its latest version when `version` is; throws
   * LoupeError(MODEL_NOT_FOUND). The one place those rules are applied, for every API.
   */
  getModel(name: string | undefined, version?: string): ModelInfo;
  classify(req: ClassifyRequest): Promise<Classification>;
  /** Throws LoupeError(OVERLOADED) when the model's queue is full right now (checked before reading an upload). */
  checkCapacity(name: string | undefined, version: string | undefined): void;
  infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse>;
  /**
   * Triton's inference statistics: every model version when `name` is omitted, every version of
   * `name` when `version` is. Throws LoupeError(MODEL_NOT_FOUND) for an unknown model or version.
   */
  statistics(name?: string, version?: string): Promise<TritonModelStatistics[]>;
  /** One of `card.samples` of a model version, read; throws LoupeError(NOT_FOUND) for any other name. */
  sample(name: string, version: string | undefined, file: string): Promise<SampleImage>;
  /**
   * Triton's model control: (re)loads every version of `name` in the store, or stops serving
   * it after the requests already admitted finish. `parameters` as the client sent them: the
   * control mode is checked before they are read (as Triton does). Throws LoupeError
   * (MODEL_CONTROL_DISABLED outside LOUPE_MODEL_CONTROL=explicit, MODEL_NOT_FOUND, BAD_REQUEST
   * for bad parameters or a failed load).
   */
  loadModel(name: string, parameters?: ControlParameters): Promise<ControlResult>;
  unloadModel(name: string, parameters?: ControlParameters): Promise<ControlResult>;
}

export interface SampleImage {
  readonly bytes: Buffer;
  readonly contentType: string;
}
