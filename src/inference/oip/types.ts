/** Open Inference Protocol v2 (KServe / Triton) REST shapes, as the spec names them. */
export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type OipParameters = Record<string, string | number | boolean>;

export interface OipInputTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: OipParameters | undefined;
  data?: unknown;
  /** Raw bytes sent after the JSON header (binary tensor data extension) instead of `data`. */
  binary?: Uint8Array | undefined;
}

export interface OipOutputRequest {
  name: string;
  parameters?: OipParameters | undefined;
}

export interface OipInferRequest {
  id?: string | undefined;
  parameters?: OipParameters | undefined;
  inputs: OipInputTensor[];
  outputs?: OipOutputRequest[] | undefined;
}

export interface OipOutputTensor {
  name: string;
  shape: number[];
  datatype: OipDatatype;
  parameters?: OipParameters | undefined;
  data?: number[] | string[] | undefined;
  /** Raw little-endian bytes, sent after the JSON header, when the client asked for binary_data output. */
  binary?: Uint8Array | undefined;
}

export interface OipInferResponse {
  model_name: string;
  model_version?: string | undefined;
  id?: string | undefined;
  parameters?: OipParameters | undefined;
  outputs: OipOutputTensor[];
}
