/**
 * Triton's extensions to the Open Inference Protocol that its clients rely on (model
 * configuration, statistics, repository index), as plain objects whose field names are
 * Triton's protobuf field names (model_config.proto, grpc_service.proto): the HTTP routes send
 * them as JSON — as Triton does, with 64-bit integers as numbers — and a gRPC server can hand
 * the same objects to protobuf.
 */

/** model_config.proto DataType, as protobuf's JSON spells enum values. */
export type TritonDataType = 'TYPE_FP32' | 'TYPE_STRING';

export interface TritonModelInput {
  name: string;
  data_type: TritonDataType;
  format: 'FORMAT_NONE' | 'FORMAT_NCHW' | 'FORMAT_NHWC';
  /** Without the batch dimension when max_batch_size > 0, as Triton does. */
  dims: number[];
  is_shape_tensor: boolean;
  allow_ragged_batch: boolean;
  optional: boolean;
  is_non_linear_format_io: boolean;
}

export interface TritonModelOutput {
  name: string;
  data_type: TritonDataType;
  dims: number[];
  label_filename: string;
  is_shape_tensor: boolean;
  is_non_linear_format_io: boolean;
}

export interface TritonQueuePolicy {
  timeout_action: 'REJECT' | 'DELAY';
  default_timeout_microseconds: number;
  allow_timeout_override: boolean;
  max_queue_size: number;
}

export interface TritonDynamicBatching {
  preferred_batch_size: number[];
  max_queue_delay_microseconds: number;
  preserve_ordering: boolean;
  priority_levels: number;
  default_priority_level: number;
  default_queue_policy: TritonQueuePolicy;
  priority_queue_policy: Record<string, TritonQueuePolicy>;
}

export interface TritonInstanceGroup {
  name: string;
  kind: 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';
  count: number;
  gpus: number[];
  secondary_devices: never[];
  profile: string[];
  passive: boolean;
  host_policy: string;
}

/** model_config.proto ModelConfig: the fields that are true for a Loupe model version. */
export interface TritonModelConfig {
  name: string;
  platform: string;
  backend: string;
  runtime: string;
  version_policy: { all: Record<string, never> };
  max_batch_size: number;
  input: TritonModelInput[];
  output: TritonModelOutput[];
  batch_input: never[];
  batch_output: never[];
  dynamic_batching: TritonDynamicBatching;
  instance_group: TritonInstanceGroup[];
  default_model_filename: string;
  cc_model_filenames: Record<string, string>;
  metric_tags: Record<string, string>;
  parameters: Record<string, { string_value: string }>;
  model_warmup: never[];
}

/** grpc_service.proto StatisticDuration: how many, and their summed nanoseconds. */
export interface StatisticDuration {
  count: number;
  ns: number;
}

export interface TritonInferStatistics {
  success: StatisticDuration;
  fail: StatisticDuration;
  queue: StatisticDuration;
  compute_input: StatisticDuration;
  compute_infer: StatisticDuration;
  compute_output: StatisticDuration;
  cache_hit: StatisticDuration;
  cache_miss: StatisticDuration;
}

export interface TritonBatchStatistics {
  batch_size: number;
  compute_input: StatisticDuration;
  compute_infer: StatisticDuration;
  compute_output: StatisticDuration;
}

/** grpc_service.proto ModelStatistics: one entry of `model_stats`. */
export interface TritonModelStatistics {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last request (0: none yet). */
  last_inference: number;
  /** Samples (images, batch elements) inferred. */
  inference_count: number;
  /** Model executions (batched runs). */
  execution_count: number;
  inference_stats: TritonInferStatistics;
  batch_stats: TritonBatchStatistics[];
  memory_usage: never[];
  /** Per-response statistics of decoupled models; Loupe's are not, so always empty. */
  response_stats: Record<string, never>;
}

/** grpc_service.proto RepositoryIndexResponse.ModelIndex. */
export interface RepositoryIndexEntry {
  name: string;
  /** Absent for a store problem that is not about one version. */
  version?: string;
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  /** Why a version is not ready; absent when it is (Triton leaves an empty reason out). */
  reason?: string;
}
