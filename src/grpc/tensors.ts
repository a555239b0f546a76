import { ErrorCode, LoupeError, quoted } from '../errors.ts';
import {
  encodeBytesElements,
  type OipInferRequest,
  type OipInferResponse,
  type OipInputTensor,
  type OipOutputTensor,
  type OipParameters,
} from '../inference/index.ts';
import type { InferInputTensor, ModelInferRequest, ModelInferResponse, ParameterMap } from './messages.ts';

const bad = (msg: string) => new LoupeError(ErrorCode.InvalidTensor, msg);

/**
 * A ModelInferRequest as the OIP request every backend runs: inputs from
 * `raw_input_contents` (FP32 little-endian, BYTES as 4-byte-length-prefixed elements — the
 * HTTP binary extension's layout) or from typed `contents` (fp32_contents, bytes_contents).
 * Outputs are always asked for in binary form: they go back in `raw_output_contents`, as
 * Triton sends them.
 */
export function toOipRequest(req: ModelInferRequest): OipInferRequest {
  const raw = req.raw_input_contents;
  if (raw.length > 0 && raw.length !== req.inputs.length) {
    throw bad(`raw_input_contents has ${raw.length} entries for ${req.inputs.length} input(s)`);
  }
  const outputs = req.outputs.map((o) => ({
    name: o.name,
    parameters: { ...fromParameters(o.parameters), binary_data: true },
  }));
  return {
    ...(req.id ? { id: req.id } : {}),
    parameters: { ...fromParameters(req.parameters), binary_data_output: true },
    inputs: req.inputs.map((t, i) => toInput(t, raw.length > 0 ? raw[i]! : undefined)),
    ...(outputs.length > 0 ? { outputs } : {}),
  };
}

function toInput(t: InferInputTensor, raw: Buffer | undefined): OipInputTensor {
  const base = { name: t.name, datatype: t.datatype, shape: t.shape, parameters: fromParameters(t.parameters) };
  const c = t.contents ?? {};
  const typed = Object.values(c).some((v) => Array.isArray(v) && v.length > 0);
  if (raw !== undefined) {
    if (typed) throw bad(`input ${quoted(t.name)}: contents and raw_input_contents are both set; send one`);
    return { ...base, binary: raw };
  }
  if (t.datatype === 'BYTES') return { ...base, binary: encodeBytesElements(c.bytes_contents ?? []) };
  // Other datatypes carry their values in other fields; the codec names what it supports.
  return { ...base, data: t.datatype === 'FP32' ? (c.fp32_contents ?? []) : [] };
}

/** The OIP response as a ModelInferResponse, every output's bytes in `raw_output_contents`. */
export function toInferResponse(res: OipInferResponse): ModelInferResponse {
  return {
    model_name: res.model_name,
    model_version: res.model_version ?? '',
    id: res.id ?? '',
    parameters: toParameters(res.parameters),
    outputs: res.outputs.map((o) => {
      const { binary_data_size: _size, ...rest } = o.parameters ?? {};
      return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: toParameters(rest) };
    }),
    raw_output_contents: res.outputs.map(outputBytes),
  };
}

/** An output's bytes; a backend that sent JSON data anyway is encoded here. */
function outputBytes(o: OipOutputTensor): Uint8Array {
  if (o.binary) return o.binary;
  if (o.datatype === 'BYTES') return encodeBytesElements((o.data ?? []) as string[]);
  const values = Float32Array.from((o.data ?? []) as number[]);
  return new Uint8Array(values.buffer);
}

export function fromParameters(map: ParameterMap | undefined): OipParameters {
  const out: OipParameters = {};
  for (const [key, p] of Object.entries(map ?? {})) {
    const choice = p.parameter_choice;
    const value = choice ? p[choice] : undefined;
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export function toParameters(params: OipParameters | undefined): ParameterMap {
  const out: ParameterMap = {};
  for (const [key, v] of Object.entries(params ?? {})) {
    if (typeof v === 'boolean') out[key] = { bool_param: v };
    else if (typeof v === 'string') out[key] = { string_param: v };
    else if (Number.isSafeInteger(v)) out[key] = { int64_param: v };
    else out[key] = { double_param: v };
  }
  return out;
}
