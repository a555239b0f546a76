import { ErrorCode, LoupeError, quoted } from '../../errors.ts';
import type { OipInferRequest, OipInferResponse, OipParameters } from './types.ts';

/**
 * The Open Inference Protocol's HTTP framing, both directions, for the server (v2 routes) and
 * the client (RemoteBackend) alike — the one place that knows the byte layout.
 *
 * A plain body is JSON. With the binary tensor data extension, the body is a JSON header of
 * Inference-Header-Content-Length bytes, then the raw bytes of every tensor whose parameters
 * carry binary_data_size, in tensor order. BYTES elements, in binary form, are each a 4-byte
 * little-endian length followed by the bytes.
 */
export const HEADER_LENGTH = 'inference-header-content-length';

/** A body ready to send: `headerLength` is set when binary data follows the JSON header. */
export interface Framed {
  readonly body: Buffer;
  readonly headerLength?: number | undefined;
}

interface Tensor {
  name: string;
  parameters?: OipParameters | undefined;
  binary?: Uint8Array | undefined;
}

const bad = (msg: string) => new LoupeError(ErrorCode.InvalidTensor, msg);
/**
 * A body that cannot be read as a message at all (not JSON, a header length that does not fit):
 * BAD_REQUEST, as gRPC answers a message that is not valid protobuf; INVALID_TENSOR is for a
 * message that reads but whose tensors are wrong.
 */
const unreadable = (msg: string) => new LoupeError(ErrorCode.BadRequest, msg);

export const encodeInferRequest = (req: OipInferRequest): Framed => frame(req, 'inputs');
export const encodeInferResponse = (res: OipInferResponse): Framed => frame(res, 'outputs');

/** Server side: a request body (JSON, or JSON header + binary inputs when `headerLength` is given). */
export function decodeInferRequest(body: Buffer, headerLength: string | number | undefined): OipInferRequest {
  return unframe<OipInferRequest>(body, headerLength, 'inputs');
}

/** Client side: a response body, as `decodeInferRequest` reads requests. */
export function decodeInferResponse(body: Buffer, headerLength: string | number | undefined): OipInferResponse {
  return unframe<OipInferResponse>(body, headerLength, 'outputs');
}

function frame<K extends 'inputs' | 'outputs', M extends { [k in K]?: Tensor[] | undefined }>(
  message: M,
  key: K,
): Framed {
  const chunks: Uint8Array[] = [];
  const tensors = (message[key] ?? []).map(({ binary, ...t }) => {
    // Only bytes are framed: a `binary` key that came in a JSON body is dropped.
    if (!(binary instanceof Uint8Array)) return t;
    chunks.push(binary);
    return { ...t, parameters: { ...t.parameters, binary_data_size: binary.byteLength } };
  });
  const json = Buffer.from(JSON.stringify({ ...message, [key]: tensors }), 'utf8');
  if (chunks.length === 0) return { body: json };
  return { body: Buffer.concat([json, ...chunks]), headerLength: json.length };
}

function unframe<M>(body: Buffer, headerLength: string | number | undefined, key: 'inputs' | 'outputs'): M {
  if (headerLength === undefined) {
    return parseJson(body, 'the body is not valid JSON (binary bodies need Inference-Header-Content-Length)') as M;
  }
  const n = Number(headerLength);
  if (!Number.isInteger(n) || n <= 0 || n > body.length) {
    throw unreadable(`Inference-Header-Content-Length ${String(headerLength)} does not fit a ${body.length}-byte body`);
  }
  const message = parseJson(body.subarray(0, n), 'the inference header is not valid JSON') as Record<string, unknown>;
  if (message === null || typeof message !== 'object') throw unreadable('the inference header is not a JSON object');
  let off = n;
  const tensors = Array.isArray(message[key]) ? (message[key] as Tensor[]) : [];
  for (const t of tensors) {
    const size = t?.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || off + size > body.length) {
      throw bad(`${key.slice(0, -1)} ${quoted(t.name)}: binary_data_size ${String(size)} overruns the body`);
    }
    t.binary = body.subarray(off, off + size);
    off += size;
  }
  if (off !== body.length) throw bad(`${body.length - off} bytes after the last binary ${key.slice(0, -1)}`);
  return message as M;
}

function parseJson(bytes: Buffer, message: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw unreadable(message);
  }
}

/** BYTES elements in binary form: each a 4-byte little-endian length, then the bytes. */
export function encodeBytesElements(elements: ReadonlyArray<Uint8Array | string>): Buffer {
  const parts = elements.map((e) => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e));
  const out = Buffer.alloc(parts.reduce((a, p) => a + 4 + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, off);
    out.set(p, off + 4);
    off += 4 + p.byteLength;
  }
  return out;
}

export function decodeBytesElements(buf: Uint8Array, name: string, expected: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.byteLength) {
    if (off + 4 > buf.byteLength) throw bad(`input ${quoted(name)}: truncated BYTES element length`);
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > buf.byteLength) throw bad(`input ${quoted(name)}: BYTES element overruns the binary data`);
    if (out.length === expected) throw bad(`input ${quoted(name)}: more BYTES elements than its shape's ${expected}`);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** FP32 data sent in binary form, copied out so it is aligned and owns its memory. */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  return out;
}
