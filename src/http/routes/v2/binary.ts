import { ErrorCode, LoupeError } from '../../../errors.ts';
import type { OipInferRequest, OipInferResponse } from '../../../inference/index.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

/**
 * Splits a binary-tensor request (Triton's binary data extension): the first
 * Inference-Header-Content-Length bytes are the JSON header, followed by the raw data of
 * each input that declares parameters.binary_data_size, in input order.
 */
export function splitBinaryRequest(body: Buffer, headerLength: number): OipInferRequest {
  if (!Number.isInteger(headerLength) || headerLength <= 0 || headerLength > body.length) {
    throw new LoupeError(
      ErrorCode.InvalidTensor,
      `Inference-Header-Content-Length ${headerLength} does not fit a ${body.length}-byte body`,
    );
  }
  let header: OipInferRequest;
  try {
    header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as OipInferRequest;
  } catch {
    throw new LoupeError(ErrorCode.InvalidTensor, 'the inference header is not valid JSON');
  }
  const binaryInputs = new Map<string, Uint8Array>();
  let off = headerLength;
  for (const input of Array.isArray(header.inputs) ? header.inputs : []) {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || off + size > body.length) {
      throw new LoupeError(
        ErrorCode.InvalidTensor,
        `input "${input.name}": binary_data_size ${String(size)} overruns the body`,
      );
    }
    binaryInputs.set(input.name, body.subarray(off, off + size));
    off += size;
  }
  if (off !== body.length)
    throw new LoupeError(ErrorCode.InvalidTensor, `${body.length - off} bytes after the last binary input`);
  return { ...header, binaryInputs };
}

/** JSON response, or JSON header + binary outputs when any output was asked for as binary. */
export function encodeResponse(res: OipInferResponse): { body: string | Buffer; headerLength?: number } {
  const chunks: Uint8Array[] = [];
  const outputs = res.outputs.map(({ binary, ...o }) => {
    if (!binary) return o;
    chunks.push(binary);
    return { ...o, parameters: { ...o.parameters, binary_data_size: binary.byteLength } };
  });
  const json = JSON.stringify({ ...res, outputs });
  if (chunks.length === 0) return { body: json };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
