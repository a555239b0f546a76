/**
 * The messages of grpc_service.proto that Loupe reads and writes, as @grpc/proto-loader hands
 * them over (LOADER_OPTIONS): snake_case fields, 64-bit integers as numbers, bytes as Buffers.
 */

/** InferParameter: one of these, named by `parameter_choice` when decoded. */
export interface InferParameter {
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export type ParameterMap = Record<string, InferParameter>;

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters: ParameterMap;
  contents?: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: ParameterMap;
  inputs: InferInputTensor[];
  outputs: Array<{ name: string; parameters: ParameterMap }>;
  raw_input_contents: Buffer[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters: ParameterMap;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: ParameterMap;
  outputs: InferOutputTensor[];
  raw_output_contents: Uint8Array[];
}

/** ModelReadyRequest, ModelMetadataRequest, ModelConfigRequest, ModelStatisticsRequest. */
export interface ModelRequest {
  name: string;
  version: string;
}

export interface RepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

/** ModelRepositoryParameter, named by `parameter_choice` when decoded. */
export interface RepositoryParameter {
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  bytes_param?: Buffer;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
}

/** RepositoryModelLoadRequest and RepositoryModelUnloadRequest. */
export interface RepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, RepositoryParameter>;
}
