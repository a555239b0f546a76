import { ErrorCode, LoupeError } from '../../errors.ts';
import { classificationStrings } from '../classification.ts';
import type { OipInferRequest, OipInputTensor, OipOutputTensor } from './types.ts';
import { decodeBytesElements, encodeBytesElements, float32FromBytes } from './wire.ts';

/** What a model server can run: an FP32 batch, or encoded images it preprocesses itself. */
export type DecodedInput =
  | { kind: 'tensor'; name: string; shape: number[]; data: Float32Array }
  | { kind: 'images'; name: string; images: Uint8Array[] };

const bad = (msg: string) => new LoupeError(ErrorCode.InvalidTensor, msg);

/** Validates one OIP input (JSON `data` or binary bytes) and turns it into a batch to run. */
export function decodeInput(input: OipInputTensor): DecodedInput {
  const { name, shape } = input;
  // Only framing sets `binary`; a JSON body that names the key gets no say.
  const binary = input.binary instanceof Uint8Array ? input.binary : undefined;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw bad(`input "${name}": shape must be an array of non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  // Checked before anything is allocated: a shape is a claim, the bytes that came are the fact.
  if (!Number.isSafeInteger(count)) throw bad(`input "${name}": shape [${shape}] has too many elements`);
  if (count === 0) throw bad(`input "${name}": shape [${shape}] has no elements`);
  if (input.datatype === 'FP32') {
    if (!binary) return { kind: 'tensor', name, shape, data: flattenNumbers(input.data, shape, name, count) };
    if (binary.byteLength !== count * 4) {
      throw bad(`input "${name}": ${binary.byteLength} binary bytes for shape [${shape}] (expected ${count * 4})`);
    }
    return { kind: 'tensor', name, shape, data: float32FromBytes(binary) };
  }
  if (input.datatype === 'BYTES') {
    if (shape.length < 1 || shape.slice(1).some((d) => d !== 1)) {
      throw bad(`input "${name}": BYTES image input takes shape [N] or [N, 1]`);
    }
    const images = binary ? decodeBytesElements(binary, name, count) : base64Images(input.data, name, count);
    if (images.length !== count)
      throw bad(`input "${name}": shape [${shape}] says ${count} element(s), got ${images.length}`);
    return { kind: 'images', name, images };
  }
  throw bad(`input "${name}": datatype ${String(input.datatype)} is not supported; send FP32 tensors or BYTES images`);
}

/** Flat or nested JSON numbers → Float32Array; walked with a stack, so no nesting depth overflows it. */
function flattenNumbers(data: unknown, shape: number[], name: string, count: number): Float32Array {
  if (!Array.isArray(data)) throw bad(`input "${name}": data must be an array`);
  const values: number[] = [];
  const stack: Array<{ items: unknown[]; at: number }> = [{ items: data, at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.at === top.items.length) {
      stack.pop();
      continue;
    }
    const v = top.items[top.at++];
    if (Array.isArray(v)) {
      if (stack.length >= shape.length) throw bad(`input "${name}": data is nested deeper than shape [${shape}]`);
      stack.push({ items: v, at: 0 });
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`input "${name}": data holds a non-numeric value`);
    if (values.length >= count) throw bad(`input "${name}": data has more elements than shape [${shape}] (${count})`);
    values.push(v);
  }
  if (values.length !== count) {
    throw bad(`input "${name}": data has ${values.length} elements; shape [${shape}] needs ${count}`);
  }
  return Float32Array.from(values);
}

function base64Images(data: unknown, name: string, count: number): Uint8Array[] {
  if (!Array.isArray(data)) throw bad(`input "${name}": data must be an array of base64 strings`);
  const flat = data.flat(4);
  if (flat.length !== count) throw bad(`input "${name}": shape says ${count} element(s), got ${flat.length}`);
  return flat.map((s, i) => {
    if (typeof s !== 'string') throw bad(`input "${name}": element ${i} is not a base64 string`);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s.replace(/\s+/g, ''))) {
      throw bad(`input "${name}": element ${i} is not valid base64`);
    }
    return Buffer.from(s, 'base64');
  });
}

/** Builds the outputs a request asked for from the model's [n, K] scores. */
export function encodeOutputs(
  req: OipInferRequest,
  outputName: string,
  scores: Float32Array,
  n: number,
  labels: readonly string[],
): OipOutputTensor[] {
  const k = labels.length;
  const wanted = req.outputs?.length ? req.outputs : [{ name: outputName }];
  const binaryDefault = req.parameters?.binary_data_output === true;
  return wanted.map((o) => {
    if (o.name !== outputName) throw bad(`unknown output "${o.name}"; the model has "${outputName}"`);
    const binary = typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : binaryDefault;
    const cls = o.parameters?.classification;
    if (cls !== undefined) {
      if (typeof cls !== 'number' || !Number.isInteger(cls) || cls < 1) {
        throw bad('parameters.classification must be a positive integer');
      }
      const top = Math.min(cls, k);
      const strings = classificationStrings(scores, n, labels, top);
      const shape = [n, top];
      return binary
        ? { name: o.name, shape, datatype: 'BYTES', binary: encodeBytesElements(strings) }
        : { name: o.name, shape, datatype: 'BYTES', data: strings };
    }
    const shape = [n, k];
    return binary
      ? { name: o.name, shape, datatype: 'FP32', binary: new Uint8Array(scores.buffer, scores.byteOffset, n * k * 4) }
      : { name: o.name, shape, datatype: 'FP32', data: Array.from(scores.subarray(0, n * k)) };
  });
}
