import { ErrorCode, LoupeError, quoted } from '../../errors.ts';
import { classificationStrings, resolveClassification } from '../classification.ts';
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
    throw bad(`input ${quoted(name)}: shape must be an array of non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  // Checked before anything is allocated: a shape is a claim, the bytes that came are the fact.
  if (!Number.isSafeInteger(count)) throw bad(`input ${quoted(name)}: shape [${shape}] has too many elements`);
  if (count === 0) throw bad(`input ${quoted(name)}: shape [${shape}] has no elements`);
  // proto3 cannot tell an empty datatype from a missing one: both are named here, the same on HTTP and gRPC.
  if (input.datatype === undefined || input.datatype === '')
    throw bad(`input ${quoted(name)}: datatype is missing or empty; send "FP32" tensors or "BYTES" images`);
  if (input.datatype === 'FP32') {
    if (!binary) return { kind: 'tensor', name, shape, data: flattenNumbers(input.data, shape, name, count) };
    if (binary.byteLength !== count * 4) {
      throw bad(
        `input ${quoted(name)}: ${binary.byteLength} binary bytes for shape [${shape}] (expected ${count * 4})`,
      );
    }
    return { kind: 'tensor', name, shape, data: float32FromBytes(binary) };
  }
  if (input.datatype === 'BYTES') {
    if (shape.length < 1 || shape.slice(1).some((d) => d !== 1)) {
      throw bad(`input ${quoted(name)}: BYTES image input takes shape [N] or [N, 1]`);
    }
    const images = binary ? decodeBytesElements(binary, name, count) : base64Images(input.data, name, count);
    if (images.length !== count)
      throw bad(`input ${quoted(name)}: shape [${shape}] says ${count} element(s), got ${images.length}`);
    return { kind: 'images', name, images };
  }
  throw bad(
    `input ${quoted(name)}: datatype ${quoted(input.datatype)} is not supported; send FP32 tensors or BYTES images`,
  );
}

/** Flat or nested JSON numbers → Float32Array; walked with a stack, so no nesting depth overflows it. */
function flattenNumbers(data: unknown, shape: number[], name: string, count: number): Float32Array {
  if (!Array.isArray(data)) throw bad(`input ${quoted(name)}: data must be an array`);
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
      if (stack.length >= shape.length) throw bad(`input ${quoted(name)}: data is nested deeper than shape [${shape}]`);
      stack.push({ items: v, at: 0 });
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw bad(`input ${quoted(name)}: data holds a non-numeric value`);
    if (values.length >= count)
      throw bad(`input ${quoted(name)}: data has more elements than shape [${shape}] (${count})`);
    values.push(v);
  }
  if (values.length !== count) {
    throw bad(`input ${quoted(name)}: data has ${values.length} elements; shape [${shape}] needs ${count}`);
  }
  return Float32Array.from(values);
}

function base64Images(data: unknown, name: string, count: number): Uint8Array[] {
  if (!Array.isArray(data)) throw bad(`input ${quoted(name)}: data must be an array of base64 strings`);
  const flat = data.flat(4);
  if (flat.length !== count) throw bad(`input ${quoted(name)}: shape says ${count} element(s), got ${flat.length}`);
  return flat.map((s, i) => {
    if (typeof s !== 'string') throw bad(`input ${quoted(name)}: element ${i} is not a base64 string`);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s.replace(/\s+/g, ''))) {
      throw bad(`input ${quoted(name)}: element ${i} is not valid base64`);
    }
    return Buffer.from(s, 'base64');
  });
}

/**
 * Refuses outputs the model cannot give (an unknown name, a classification count outside
 * 1..classes) before anything runs; encodeOutputs applies the same rules.
 */
export function checkOutputs(req: OipInferRequest, outputName: string, classes: number): void {
  for (const o of req.outputs ?? []) {
    if (o.name !== outputName) throw bad(`unknown output ${quoted(o.name)}; the model has ${quoted(outputName)}`);
    if (o.parameters?.classification !== undefined) resolveClassification(o.parameters.classification, classes);
  }
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
    if (o.name !== outputName) throw bad(`unknown output ${quoted(o.name)}; the model has ${quoted(outputName)}`);
    const binary = typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : binaryDefault;
    const cls = o.parameters?.classification;
    if (cls !== undefined) {
      const top = resolveClassification(cls, k);
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
