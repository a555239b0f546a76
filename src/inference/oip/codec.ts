import { ErrorCode, LoupeError } from '../../errors.ts';
import type { OipInferRequest, OipInputTensor, OipOutputTensor } from './types.ts';

export type DecodedInput =
  | { kind: 'tensor'; name: string; shape: number[]; data: Float32Array }
  | { kind: 'images'; name: string; images: Uint8Array[] };

const bad = (msg: string) => new LoupeError(ErrorCode.InvalidTensor, msg);

/** Validates one OIP input and turns it into an FP32 batch or a list of encoded images. */
export function decodeInput(input: OipInputTensor, binary?: Uint8Array): DecodedInput {
  if (!Array.isArray(input.shape) || input.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw bad(`input "${input.name}": shape must be an array of non-negative integers`);
  }
  const count = input.shape.reduce((a, b) => a * b, 1);
  if (input.datatype === 'FP32') {
    let data: Float32Array;
    if (binary) {
      if (binary.byteLength !== count * 4)
        throw bad(
          `input "${input.name}": ${binary.byteLength} binary bytes for shape [${input.shape}] (expected ${count * 4})`,
        );
      data = new Float32Array(count);
      new Uint8Array(data.buffer).set(binary);
    } else {
      data = flattenNumbers(input.data, input.shape, input.name);
    }
    return { kind: 'tensor', name: input.name, shape: input.shape, data };
  }
  if (input.datatype === 'BYTES') {
    if (input.shape.length < 1 || input.shape.slice(1).some((d) => d !== 1))
      throw bad(`input "${input.name}": BYTES image input takes shape [N] or [N, 1]`);
    const images = binary ? splitBinaryBytes(binary, input.name) : base64Images(input.data, input.name);
    if (images.length !== count)
      throw bad(`input "${input.name}": shape [${input.shape}] says ${count} element(s), got ${images.length}`);
    return { kind: 'images', name: input.name, images };
  }
  throw bad(
    `input "${input.name}": datatype ${String(input.datatype)} is not supported; send FP32 tensors or BYTES images`,
  );
}

function flattenNumbers(data: unknown, shape: number[], name: string): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Array.isArray(data)) throw bad(`input "${name}": data must be an array`);
  const out = new Float32Array(count);
  let n = 0;
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`input "${name}": data holds a non-numeric value`);
    if (n >= count) throw bad(`input "${name}": data has more elements than shape [${shape}] (${count})`);
    out[n++] = v;
  };
  walk(data, 0);
  if (n !== count) throw bad(`input "${name}": data has ${n} elements; shape [${shape}] needs ${count}`);
  return out;
}

function base64Images(data: unknown, name: string): Uint8Array[] {
  if (!Array.isArray(data)) throw bad(`input "${name}": data must be an array of base64 strings`);
  return data.flat(4).map((s, i) => {
    if (typeof s !== 'string') throw bad(`input "${name}": element ${i} is not a base64 string`);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s.replace(/\s+/g, '')))
      throw bad(`input "${name}": element ${i} is not valid base64`);
    return Buffer.from(s, 'base64');
  });
}

/** Triton's binary BYTES layout: each element is a 4-byte little-endian length, then the bytes. */
function splitBinaryBytes(buf: Uint8Array, name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.byteLength) {
    if (off + 4 > buf.byteLength) throw bad(`input "${name}": truncated BYTES element length`);
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > buf.byteLength) throw bad(`input "${name}": BYTES element overruns the binary data`);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

export function encodeBinaryBytes(strings: string[]): Uint8Array {
  const parts = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, off);
    p.copy(out, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** Builds the outputs a request asked for from the model's [N, K] scores. */
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
    if (o.name !== outputName)
      throw new LoupeError(ErrorCode.InvalidTensor, `unknown output "${o.name}"; the model has "${outputName}"`);
    const binary = typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : binaryDefault;
    const cls = o.parameters?.classification;
    if (cls !== undefined) {
      if (typeof cls !== 'number' || !Number.isInteger(cls) || cls < 1)
        throw bad('parameters.classification must be a positive integer');
      const top = Math.min(cls, k);
      const strings: string[] = [];
      for (let i = 0; i < n; i++) {
        const row = scores.subarray(i * k, (i + 1) * k);
        for (const idx of topIndices(row, top)) strings.push(`${row[idx]!}:${idx}:${labels[idx]!}`);
      }
      const shape = [n, top];
      return binary
        ? { name: o.name, shape, datatype: 'BYTES', binary: encodeBinaryBytes(strings) }
        : { name: o.name, shape, datatype: 'BYTES', data: strings };
    }
    const shape = [n, k];
    return binary
      ? { name: o.name, shape, datatype: 'FP32', binary: new Uint8Array(scores.buffer, scores.byteOffset, n * k * 4) }
      : { name: o.name, shape, datatype: 'FP32', data: Array.from(scores.subarray(0, n * k)) };
  });
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
export function topIndices(row: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  return idx.slice(0, k);
}

export function softmax(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const out = new Float32Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}
