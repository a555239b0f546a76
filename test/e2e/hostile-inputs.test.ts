import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

// One table of hostile requests across every surface (multipart, image formats and bombs,
// sizes and chunking, query and headers, OIP JSON and binary, jobs, history). Each must get
// its documented 4xx in the documented shape, with a request id; afterwards the server must
// still classify, and its memory must not have grown without bound.

const MiB = 1024 * 1024;
const png = fixture('gray-40x30.png');
const jpeg = fixture('dog-160x120.jpg');

interface Case {
  readonly name: string;
  readonly path: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: NonNullable<RequestInit['body']>;
  readonly status: number;
  /** Loupe's code; OIP routes answer {"error": "..."} without one. */
  readonly code?: string;
}

/** A PNG whose header claims other dimensions (the pixel data stays a 40×30 image's). */
function pngClaiming(width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29); // IHDR's CRC over type + data
  return b;
}

/** A JPEG whose first SOF segment claims other dimensions. */
function jpegClaiming(width: number, height: number): Buffer {
  const b = Buffer.from(jpeg);
  for (let i = 2; i < b.length - 9;) {
    const marker = b[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc3) {
      b.writeUInt16BE(height, i + 5);
      b.writeUInt16BE(width, i + 7);
      return b;
    }
    i += 2 + b.readUInt16BE(i + 2);
  }
  throw new Error('no SOF in the fixture');
}

/** A GIF whose logical screen and first frame claim 65535×65535. */
const gifBomb = () => {
  const b = Buffer.from(
    'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', // 1×1 GIF
    'base64',
  );
  b.writeUInt16LE(65535, 6);
  b.writeUInt16LE(65535, 8);
  b.writeUInt16LE(65535, 32); // the image descriptor (0x2c at 27): left, top, width, height
  b.writeUInt16LE(65535, 34);
  return b;
};

function multipart(parts: Array<{ name: string; filename?: string; body: string | Buffer }>, boundary = 'XyZ') {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\ncontent-disposition: ${disp}\r\n\r\n`),
      Buffer.from(p.body),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** A body streamed in chunks with no Content-Length, `total` bytes of one repeated byte. */
function chunked(total: number, first: Uint8Array = new Uint8Array()): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent === 0 && first.length) {
        c.enqueue(first);
        sent += first.length;
        return;
      }
      if (sent >= total) return c.close();
      const n = Math.min(64 * 1024, total - sent);
      c.enqueue(new Uint8Array(n).fill(7));
      sent += n;
    },
  });
}

/** An OIP binary request: JSON header, then the bytes. */
function binaryInfer(header: unknown, tail: Buffer, headerLength?: string): Partial<Case> {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  return {
    body: Buffer.concat([h, tail]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': headerLength ?? String(h.length),
    },
  };
}

const json = (v: unknown) => ({ body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });
const fp32 = (shape: unknown, data: unknown = [1, 2, 3]) =>
  json({ inputs: [{ name: 'input', shape, datatype: 'FP32', data }] });
const bytesInput = (shape: unknown, data: unknown) =>
  json({ inputs: [{ name: 'image', shape, datatype: 'BYTES', data }] });
const raw = (type: string, body: NonNullable<RequestInit['body']>) => ({ body, headers: { 'content-type': type } });

function deepNested(depth: number): string {
  return `{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
}

const INFER = '/v2/models/digits/infer';

function cases(): Case[] {
  const P = '/predict';
  const J = '/jobs';
  return [
    // multipart
    {
      name: 'multipart without a file field',
      path: P,
      ...multipart([{ name: 'metadata', body: '{}' }]),
      status: 400,
      code: 'MISSING_FILE',
    },
    {
      name: 'multipart file under another name',
      path: P,
      ...multipart([{ name: 'image', filename: 'a.png', body: png }]),
      status: 400,
      code: 'MISSING_FILE',
    },
    {
      name: 'multipart with an empty file',
      path: P,
      ...multipart([{ name: 'file', filename: 'a.png', body: '' }]),
      status: 400,
      code: 'EMPTY_BODY',
    },
    {
      name: 'multipart without a boundary',
      path: P,
      body: 'x',
      headers: { 'content-type': 'multipart/form-data' },
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'multipart cut off mid-part',
      path: P,
      body: '--XyZ\r\ncontent-disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'multipart with a malformed part header',
      path: P,
      body: '--XyZ\r\nnonsense\r\n\r\nabc\r\n--XyZ--\r\n',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      status: 400,
    },
    {
      name: 'multipart with 200 fields',
      path: P,
      ...multipart([
        ...Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, body: 'x' })),
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'metadata that is not JSON',
      path: P,
      ...multipart([
        { name: 'metadata', body: '{nope' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'metadata that is an array',
      path: P,
      ...multipart([
        { name: 'metadata', body: '[1]' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'metadata with a nested object',
      path: P,
      ...multipart([
        { name: 'metadata', body: '{"a":{"b":1}}' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'metadata with a number value',
      path: P,
      ...multipart([
        { name: 'metadata', body: '{"a":1}' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'metadata of 100 KB',
      path: P,
      ...multipart([
        { name: 'metadata', body: JSON.stringify({ a: 'x'.repeat(100_000) }) },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    // raw bodies and image formats
    { name: 'an empty image/png body', path: P, ...raw('image/png', ''), status: 400, code: 'EMPTY_BODY' },
    { name: 'a text/plain body', path: P, ...raw('text/plain', 'hello'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    {
      name: 'a JSON body to /predict',
      path: P,
      ...raw('application/json', '{"image":"x"}'),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'random bytes called image/png',
      path: P,
      ...raw('image/png', Buffer.alloc(2000, 0x5a)),
      status: 422,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'a PNG cut in half',
      path: P,
      ...raw('image/png', png.subarray(0, png.length >> 1)),
      status: 422,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'a JPEG cut in half',
      path: P,
      ...raw('image/jpeg', jpeg.subarray(0, jpeg.length >> 1)),
      status: 422,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'only a PNG signature',
      path: P,
      ...raw('image/png', png.subarray(0, 8)),
      status: 422,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'an SVG',
      path: P,
      ...raw('image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'an SVG with a script, as octet-stream',
      path: P,
      ...raw('application/octet-stream', '<?xml version="1.0"?><svg><script>alert(1)</script></svg>'),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a PDF',
      path: P,
      ...raw('image/png', '%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF'),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a BMP',
      path: P,
      ...raw('image/bmp', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a HEIC header',
      path: P,
      ...raw('image/heic', Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(40)])),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a PNG claiming 50000×50000 (bomb)',
      path: P,
      ...raw('image/png', pngClaiming(50_000, 50_000)),
      status: 422,
      code: 'IMAGE_TOO_LARGE',
    },
    { name: 'a PNG claiming 0×0', path: P, ...raw('image/png', pngClaiming(0, 0)), status: 422, code: 'INVALID_IMAGE' },
    {
      name: 'a JPEG claiming 65500×65500 (bomb)',
      path: P,
      ...raw('image/jpeg', jpegClaiming(65_500, 65_500)),
      status: 422,
      code: 'IMAGE_TOO_LARGE',
    },
    { name: 'a GIF claiming 65535×65535 (bomb)', path: P, ...raw('image/gif', gifBomb()), status: 422 },
    // sizes and chunking
    {
      name: 'an upload over the limit with Content-Length',
      path: P,
      ...raw('image/png', Buffer.alloc(MiB + 10)),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'a chunked upload over the limit',
      path: P,
      ...raw('image/png', chunked(3 * MiB, png.subarray(0, 16))),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'a chunked multipart upload over the limit',
      path: P,
      body: chunked(
        3 * MiB,
        Buffer.from('--XyZ\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n\r\n'),
      ),
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'a chunked OIP body over the limit',
      path: INFER,
      body: chunked(3 * MiB, Buffer.from('{"inputs":[')),
      headers: { 'content-type': 'application/json' },
      status: 413,
    },
    // query and headers
    { name: 'top_k=0', path: `${P}?top_k=0`, ...raw('image/png', png), status: 400, code: 'BAD_REQUEST' },
    { name: 'top_k=abc', path: `${P}?top_k=abc`, ...raw('image/png', png), status: 400, code: 'BAD_REQUEST' },
    {
      name: 'top_k above the class count',
      path: `${P}?top_k=11`,
      ...raw('image/png', png),
      status: 400,
      code: 'BAD_REQUEST',
    },
    { name: 'top_k=1e400', path: `${P}?top_k=1e400`, ...raw('image/png', png), status: 400, code: 'BAD_REQUEST' },
    {
      name: 'an unknown model',
      path: `${P}?model=nope`,
      ...raw('image/png', png),
      status: 404,
      code: 'MODEL_NOT_FOUND',
    },
    { name: 'version=abc', path: `${P}?version=abc`, ...raw('image/png', png), status: 400, code: 'BAD_REQUEST' },
    {
      name: 'a version that does not exist',
      path: `${P}?version=99`,
      ...raw('image/png', png),
      status: 404,
      code: 'MODEL_NOT_FOUND',
    },
    {
      name: 'a NUL in the model name',
      path: `${P}?model=a%00b`,
      ...raw('image/png', png),
      status: 404,
      code: 'MODEL_NOT_FOUND',
    },
    { name: 'an unknown route', path: '/nope', method: 'GET', status: 404, code: 'NOT_FOUND' },
    { name: 'PUT /predict', path: P, method: 'PUT', ...raw('image/png', png), status: 404, code: 'NOT_FOUND' },
    { name: 'a model name of 5000 characters', path: `/models/${'m'.repeat(5000)}`, method: 'GET', status: 400 },
    // OIP JSON
    { name: 'OIP: not JSON', path: INFER, ...raw('application/json', '{"inputs": ['), status: 400 },
    { name: 'OIP: no inputs', path: INFER, ...json({}), status: 400 },
    { name: 'OIP: empty inputs', path: INFER, ...json({ inputs: [] }), status: 400 },
    { name: 'OIP: a negative dimension', path: INFER, ...fp32([1, -1, 28, 28]), status: 400 },
    { name: 'OIP: shape [4294967297,1,28,28]', path: INFER, ...fp32([4294967297, 1, 28, 28]), status: 400 },
    { name: 'OIP: shape [1e12]', path: INFER, ...fp32([1e12]), status: 400 },
    { name: 'OIP: shape whose product is 2^53', path: INFER, ...fp32([2 ** 26, 2 ** 27]), status: 400 },
    { name: 'OIP: shape [1.5]', path: INFER, ...fp32([1.5]), status: 400 },
    {
      name: 'OIP: 200,000-deep nested data',
      path: INFER,
      ...raw('application/json', deepNested(200_000)),
      status: 400,
    },
    { name: 'OIP: strings in FP32 data', path: INFER, ...fp32([1, 1, 1, 3], ['a', 'b', 'c']), status: 400 },
    { name: 'OIP: null in FP32 data', path: INFER, ...fp32([1, 1, 1, 3], [1, null, 3]), status: 400 },
    { name: 'OIP: data shorter than the shape', path: INFER, ...fp32([1, 1, 28, 28], [1, 2]), status: 400 },
    { name: 'OIP: the wrong tensor shape', path: INFER, ...fp32([1, 1, 2, 2], [1, 2, 3, 4]), status: 400 },
    {
      name: 'OIP: datatype INT64',
      path: INFER,
      ...json({ inputs: [{ name: 'input', shape: [1], datatype: 'INT64', data: [1] }] }),
      status: 400,
    },
    { name: 'OIP: BYTES of shape [0]', path: INFER, ...bytesInput([0], []), status: 400 },
    { name: 'OIP: BYTES that are not base64', path: INFER, ...bytesInput([1], ['***']), status: 400 },
    {
      name: 'OIP: BYTES that are not an image',
      path: INFER,
      ...bytesInput([1], [Buffer.from('hello').toString('base64')]),
      status: 422,
    },
    { name: 'OIP: BYTES shape [2, 2]', path: INFER, ...bytesInput([2, 2], ['a', 'b', 'c', 'd']), status: 400 },
    {
      name: 'OIP: an unknown output',
      path: INFER,
      ...json({
        inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [png.toString('base64')] }],
        outputs: [{ name: 'nope' }],
      }),
      status: 400,
    },
    {
      name: 'OIP: classification -1',
      path: INFER,
      ...json({
        inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [png.toString('base64')] }],
        outputs: [{ name: 'logits', parameters: { classification: -1 } }],
      }),
      status: 400,
    },
    {
      name: 'OIP: two inputs',
      path: INFER,
      ...json({
        inputs: [
          { name: 'a', shape: [1], datatype: 'FP32', data: [1] },
          { name: 'b', shape: [1], datatype: 'FP32', data: [1] },
        ],
      }),
      status: 400,
    },
    {
      name: 'OIP: a batch over max_batch_size',
      path: INFER,
      ...bytesInput([9], Array(9).fill(png.toString('base64'))),
      status: 400,
    },
    { name: 'OIP: an unknown model', path: '/v2/models/nope/infer', ...fp32([1]), status: 404 },
    { name: 'OIP: an unknown version', path: '/v2/models/digits/versions/7/infer', ...fp32([1]), status: 404 },
    // OIP binary
    {
      name: 'OIP binary: header length beyond the body',
      path: INFER,
      ...binaryInfer({ inputs: [] }, Buffer.alloc(0), '5000'),
      status: 400,
    },
    {
      name: 'OIP binary: header length 0',
      path: INFER,
      ...binaryInfer({ inputs: [] }, Buffer.alloc(0), '0'),
      status: 400,
    },
    {
      name: 'OIP binary: header length not a number',
      path: INFER,
      ...binaryInfer({ inputs: [] }, Buffer.alloc(0), 'abc'),
      status: 400,
    },
    { name: 'OIP binary: header not JSON', path: INFER, ...binaryInfer('{"inputs": [', Buffer.alloc(4)), status: 400 },
    { name: 'OIP binary: header is null', path: INFER, ...binaryInfer('null', Buffer.alloc(0)), status: 400 },
    {
      name: 'OIP binary: binary_data_size overruns the body',
      path: INFER,
      ...binaryInfer(
        {
          inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 3136 } }],
        },
        Buffer.alloc(100),
      ),
      status: 400,
    },
    {
      name: 'OIP binary: bytes after the last input',
      path: INFER,
      ...binaryInfer(
        {
          inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 3136 } }],
        },
        Buffer.alloc(3140),
      ),
      status: 400,
    },
    {
      name: 'OIP binary: FP32 bytes for the wrong shape',
      path: INFER,
      ...binaryInfer(
        { inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 8 } }] },
        Buffer.alloc(8),
      ),
      status: 400,
    },
    {
      name: 'OIP binary: a truncated BYTES length',
      path: INFER,
      ...binaryInfer(
        { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 2 } }] },
        Buffer.alloc(2),
      ),
      status: 400,
    },
    {
      name: 'OIP binary: a BYTES element that overruns',
      path: INFER,
      ...binaryInfer(
        { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 8 } }] },
        Buffer.from([255, 255, 0, 0, 1, 2, 3, 4]),
      ),
      status: 400,
    },
    {
      name: 'OIP binary: a negative binary_data_size',
      path: INFER,
      ...binaryInfer(
        { inputs: [{ name: 'input', shape: [1], datatype: 'FP32', parameters: { binary_data_size: -4 } }] },
        Buffer.alloc(4),
      ),
      status: 400,
    },
    // jobs
    { name: 'jobs: a raw body', path: J, ...raw('image/png', png), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'jobs: no files', path: J, ...multipart([{ name: 'metadata', body: '{}' }]), status: 400 },
    {
      name: 'jobs: more files than allowed',
      path: J,
      ...multipart(Array.from({ length: 6 }, () => ({ name: 'file', filename: 'a.png', body: png }))),
      status: 413,
      code: 'TOO_MANY_IMAGES',
    },
    {
      name: 'jobs: a file:// webhook',
      path: J,
      ...multipart([
        { name: 'webhook_url', body: 'file:///etc/passwd' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'jobs: a webhook to cloud metadata',
      path: J,
      ...multipart([
        { name: 'webhook_url', body: 'http://169.254.169.254/latest/meta-data/' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'jobs: a webhook with credentials',
      path: J,
      ...multipart([
        { name: 'webhook_url', body: 'https://user:pw@example.com/hook' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'jobs: a webhook to loopback',
      path: J,
      ...multipart([
        { name: 'webhook_url', body: 'http://127.0.0.1:9/hook' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'jobs: top_k=-3',
      path: J,
      ...multipart([
        { name: 'top_k', body: '-3' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'jobs: an unknown model',
      path: J,
      ...multipart([
        { name: 'model', body: 'nope' },
        { name: 'file', filename: 'a.png', body: png },
      ]),
      status: 404,
      code: 'MODEL_NOT_FOUND',
    },
    { name: 'jobs: an id that is not a UUID', path: '/jobs/../../etc/passwd', method: 'GET', status: 404 },
    {
      name: 'jobs: an id of 36 dashes',
      path: `/jobs/${'-'.repeat(36)}`,
      method: 'GET',
      status: 400,
      code: 'BAD_REQUEST',
    },
    { name: 'jobs: an unknown job', path: `/jobs/${randomUUID()}`, method: 'GET', status: 404, code: 'NOT_FOUND' },
    // history
    { name: 'history: limit=0', path: '/predictions?limit=0', method: 'GET', status: 400, code: 'BAD_REQUEST' },
    {
      name: 'history: limit=100000',
      path: '/predictions?limit=100000',
      method: 'GET',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'history: a garbage cursor',
      path: '/predictions?cursor=%27%3B%20DROP%20TABLE%20predictions',
      method: 'GET',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'history: since=yesterday',
      path: '/predictions?since=yesterday',
      method: 'GET',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'history: an id that is not a UUID',
      path: '/predictions/1%20OR%201%3D1',
      method: 'GET',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'history: an unknown record',
      path: `/predictions/${randomUUID()}`,
      method: 'GET',
      status: 404,
      code: 'NOT_FOUND',
    },
  ];
}

describe('hostile inputs: a table across every surface', () => {
  let srv: TestServer;
  let idleRss = 0;

  before(async () => {
    const store = tempDir('loupe-hostile-');
    writeStoreModel(store, {
      name: 'digits',
      channels: 1,
      height: 28,
      width: 28,
      classes: 10,
      batching: { max_batch_size: 8 },
    });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'digits',
      LOUPE_MAX_UPLOAD_BYTES: String(MiB),
      LOUPE_MAX_JOB_IMAGES: '4',
      LOUPE_WEBHOOK_SECRET: 'hostile-test-secret',
    });
    idleRss = process.memoryUsage().rss;
  });
  after(() => srv.stop());

  const all = cases();
  it('has at least 60 distinct inputs', () => {
    assert.ok(all.length >= 60, String(all.length));
    assert.equal(new Set(all.map((c) => c.name)).size, all.length);
  });

  for (const c of all) {
    it(`${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
      const res = await fetch(`${srv.url}${c.path}`, {
        method: c.method ?? 'POST',
        headers: c.headers ?? {},
        ...(c.body !== undefined ? { body: c.body, duplex: 'half' } : {}),
      } as RequestInit);
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${text.slice(0, 300)}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, text.slice(0, 200));
      const requestId = res.headers.get('x-request-id');
      assert.ok(requestId, 'every answer carries X-Request-Id');
      const body = JSON.parse(text) as { error: string | { code: string; message: string; request_id: string } };
      if (c.path.startsWith('/v2/')) {
        assert.equal(typeof body.error, 'string', text);
      } else {
        assert.ok(typeof body.error === 'object', text);
        if (c.code) assert.equal(body.error.code, c.code, text);
        assert.equal(body.error.request_id, requestId);
        assert.ok(body.error.message.length > 0);
      }
      assert.ok(!/stack|at .*\.ts:\d+|node_modules/.test(text), `no internals in the answer: ${text.slice(0, 200)}`);
      assert.equal((await fetch(`${srv.url}/livez`)).status, 200, 'the server still serves');
    });
  }

  it('still classifies afterwards, and memory stayed bounded', async () => {
    const ok = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    assert.equal(ok.status, 200, await ok.text());
    const valid = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    const again = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: valid,
      headers: { 'content-type': 'image/png' },
    });
    assert.equal(again.status, 200);
    const grown = (process.memoryUsage().rss - idleRss) / MiB;
    assert.ok(grown < 300, `RSS grew by ${grown.toFixed(0)} MiB over the table`);
  });
});
