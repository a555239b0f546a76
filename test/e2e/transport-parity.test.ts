import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { grpcStatusOf, logLevelOf, type ErrorCode } from '../../src/errors.ts';
import { inferenceService } from '../../src/grpc/index.ts';
import { codeName } from '../../src/grpc/status.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import {
  LEVELS,
  capturingLogger,
  grpcOutcome,
  httpOutcome,
  parity,
  rawGrpcOutcome,
  type LogLine,
  type Outcome,
  type Parity,
} from '../helpers/parity.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

/**
 * Transport parity (issue #24 item 2): the same request sent over HTTP (OIP REST, binary
 * tensor extension) and over gRPC (ModelInfer) to one process answers with the same Loupe
 * error code, each transport's status from the one map in src/errors.ts, the same message,
 * a request id, one log line at the level logLevelOf gives, and one count in the transport's
 * request counter (admission: transport-parity-admission.test.ts; the upload budget and the
 * rate floor: transport-parity-budget.test.ts). The deliberate differences are in the table
 * below (and docs/api.md, "HTTP and gRPC"); everything else must match.
 *
 * | Case                          | HTTP                                      | gRPC                                     |
 * | ----------------------------- | ----------------------------------------- | ---------------------------------------- |
 * | too large (PAYLOAD_TOO_LARGE) | 413; the body's bytes                     | RESOURCE_EXHAUSTED; the message's bytes, |
 * |                               |                                           | limit + room for its framing             |
 * | limits (RATE_LIMITED)         | 429 + Retry-After (+ x-ratelimit-* when   | RESOURCE_EXHAUSTED + retry-after,        |
 * |                               | rate-limited)                             | grpc-retry-pushback-ms trailers          |
 * | malformed frame (BAD_REQUEST) | malformed JSON / header length: 400       | invalid or truncated protobuf:           |
 * |                               |                                           | INVALID_ARGUMENT                         |
 * | URL + headers over 16 KiB     | 431 HEADERS_TOO_LARGE                     | grpc-js's own metadata limit             |
 * | FORBIDDEN message             | "may not POST /v2/models/:model/infer"    | "may not call ModelInfer"                |
 * | OIP error body                | `{"error": message}` (the OIP shape)      | details: message + " (request id …)"     |
 * | a tensor's values             | JSON `data` or the binary extension       | typed `contents` or raw_input_contents   |
 * | below the rate floor          | 408; the body's bytes counted             | DEADLINE_EXCEEDED; DATA frame bytes      |
 * | silent connection             | 408, closed                               | closed (no stream to answer on)          |
 */
const C = 3;
const H = 4;
const W = 4;
const K = 4;
const KiB = 1024;
const MAX_UPLOAD = 64 * KiB;
const HEADERS_MS = 1500;

const fp32 = (n: number) => Buffer.alloc(n * 4);
const goodShape = [1, C, H, W];

/** One request as both transports carry it: OIP JSON header (+ binary) over HTTP, a ModelInferRequest over gRPC. */
interface Tensor {
  readonly name?: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly raw: Buffer;
}
interface InferCase {
  readonly name: string;
  readonly model: string;
  readonly version?: string;
  readonly inputs: Tensor[];
  readonly classification?: number;
  readonly code: ErrorCode;
  /** The message both answer with, where a test pins its wording. */
  readonly message?: RegExp;
}

/** The HTTP request of a case: the binary tensor extension, the raw bytes gRPC sends in raw_input_contents. */
function httpInfer(c: InferCase, id: string, headers: Record<string, string> = {}) {
  const header = Buffer.from(
    JSON.stringify({
      inputs: c.inputs.map((t) => ({
        name: t.name ?? 'input',
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: t.raw.length },
      })),
      ...(c.classification !== undefined
        ? { outputs: [{ name: 'logits', parameters: { classification: c.classification } }] }
        : {}),
    }),
  );
  const path = `/v2/models/${encodeURIComponent(c.model)}${c.version !== undefined ? `/versions/${encodeURIComponent(c.version)}` : ''}/infer`;
  const init: RequestInit = {
    method: 'POST',
    body: Buffer.concat([header, ...c.inputs.map((t) => t.raw)]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
      'x-request-id': id,
      ...headers,
    },
  };
  return { path, init };
}

function grpcInfer(c: InferCase) {
  return {
    model_name: c.model,
    model_version: c.version ?? '',
    inputs: c.inputs.map((t) => ({ name: t.name ?? 'input', datatype: t.datatype, shape: t.shape })),
    raw_input_contents: c.inputs.map((t) => t.raw),
    ...(c.classification !== undefined
      ? { outputs: [{ name: 'logits', parameters: { classification: { int64_param: c.classification } } }] }
      : {}),
  };
}

/** BYTES elements, each with a 4-byte little-endian length that may lie. */
function bytesElements(...elements: Array<{ claim: number; bytes: Buffer }>): Buffer {
  return Buffer.concat(
    elements.flatMap(({ claim, bytes }) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(claim);
      return [len, bytes];
    }),
  );
}

const INFER_CASES: InferCase[] = [
  {
    name: 'shape and data disagree',
    model: 'colors',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(3) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'no inputs',
    model: 'colors',
    inputs: [],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'an empty input name',
    model: 'colors',
    inputs: [{ name: '', datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'wrong datatype',
    model: 'colors',
    inputs: [{ datatype: 'INT8', shape: goodShape, raw: Buffer.alloc(C * H * W) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'empty datatype',
    model: 'colors',
    inputs: [{ datatype: '', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'negative dims',
    model: 'colors',
    inputs: [{ datatype: 'FP32', shape: [1, C, -H, -W], raw: fp32(C * H * W) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'wrong input name',
    model: 'colors',
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'BYTES element longer than the tensor',
    model: 'colors',
    inputs: [
      { name: 'image', datatype: 'BYTES', shape: [1], raw: bytesElements({ claim: 1000, bytes: Buffer.from('abc') }) },
    ],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'BYTES element count other than the shape',
    model: 'colors',
    inputs: [
      {
        name: 'image',
        datatype: 'BYTES',
        shape: [1],
        raw: bytesElements({ claim: 1, bytes: Buffer.from('a') }, { claim: 1, bytes: Buffer.from('b') }),
      },
    ],
    code: 'INVALID_TENSOR',
  },
  {
    name: 'classification count above the class count',
    model: 'colors',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    classification: K + 1,
    code: 'INVALID_TENSOR',
  },
  {
    name: 'classification count 0',
    model: 'colors',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    classification: 0,
    code: 'INVALID_TENSOR',
  },
  {
    name: 'classification count negative',
    model: 'colors',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    classification: -2,
    code: 'INVALID_TENSOR',
  },
  {
    name: 'unknown model',
    model: 'nope',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'MODEL_NOT_FOUND',
  },
  {
    name: 'unknown version',
    model: 'colors',
    version: '7',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'MODEL_NOT_FOUND',
  },
  {
    name: 'out-of-range version',
    model: 'colors',
    version: '99999999999999999999',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'BAD_REQUEST',
  },
  {
    name: 'a model name with control characters, quoted safely',
    model: 'evil\u001b[31m\nname\u202e',
    inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
    code: 'MODEL_NOT_FOUND',
    message: /"evil\\u001b\[31m\\nname\\u202e"/,
  },
];

describe('HTTP and gRPC answer the same request the same way', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  let lines: LogLine[];
  let seq = 0;

  before(async () => {
    const store = tempDir('loupe-parity-');
    writeStoreModel(store, { name: 'colors', channels: C, height: H, width: W, classes: K, resize: 'stretch' });
    const log = capturingLogger();
    lines = log.lines;
    srv = await startServe(
      {
        LOUPE_AUTH: 'off',
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'colors',
        LOUPE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
        LOUPE_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      },
      {},
      { logger: log.logger },
    );
    client = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  let both: Parity['both'];
  let check: Parity['check'];
  let linesOf: Parity['linesOf'];
  before(() => {
    ({ both, check, linesOf } = parity(srv, lines));
  });

  for (const c of INFER_CASES) {
    it(c.name, async () => {
      const route = c.version === undefined ? '/v2/models/:model/infer' : '/v2/models/:model/versions/:version/infer';
      const { h } = await both(
        c.name,
        c.code,
        (id) => {
          const { path, init } = httpInfer(c, id);
          return httpOutcome(`${srv.url}${path}`, init);
        },
        (id) => grpcOutcome(client, 'ModelInfer', grpcInfer(c), { 'x-request-id': id }),
        route,
      );
      if (c.message) assert.match(h.message!, c.message);
      // eslint-disable-next-line no-control-regex -- what the test looks for
      assert.doesNotMatch(h.message!, /[\u0000-\u001f\u007f\u202e]/, 'no control character in the message');
    });
  }

  // ModelStreamInfer answers a failed request in its error_message (the stream goes on), as
  // "CODE: message (request id …)": the code ModelInfer's trailer carries, ModelInfer's message,
  // and the request's `id` as its request id; one log line per message at the same level.
  it('ModelStreamInfer answers every case with ModelInfer’s code and message, in error_message', async () => {
    const unary = new Map<string, Outcome>();
    for (const c of INFER_CASES) unary.set(c.name, await grpcOutcome(client, 'ModelInfer', grpcInfer(c), {}));
    const call = client.stream<object, { error_message?: string }>('ModelStreamInfer');
    const answers: string[] = [];
    call.on('data', (r: { error_message?: string }) => answers.push(r.error_message ?? ''));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    INFER_CASES.forEach((c, i) => call.write({ ...grpcInfer(c), id: `parity-stream-${i}` }));
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(answers.length, INFER_CASES.length);
    for (const [i, c] of INFER_CASES.entries()) {
      const id = `parity-stream-${i}`;
      const g = unary.get(c.name)!;
      assert.equal(g.code, c.code, `${c.name}: ModelInfer's code`);
      assert.ok(answers.includes(`${c.code}: ${g.message} (request id ${id})`), `${c.name}: ${answers.join('\n')}`);
      const [line, ...more] = await linesOf(id);
      assert.ok(line && more.length === 0, `${c.name}: one log line`);
      assert.equal(line.code, c.code);
      assert.equal(line.grpc_code, codeName(grpcStatusOf[c.code]));
      assert.equal(LEVELS[line.level], logLevelOf(c.code));
    }
  });

  /** The RPCs that name a model, and their HTTP routes. */
  const METADATA_CASES: Array<{ name: string; model: string; version?: string; code: ErrorCode }> = [
    { name: 'metadata of an unknown model', model: 'nope', code: 'MODEL_NOT_FOUND' },
    { name: 'metadata of an unknown version', model: 'colors', version: '7', code: 'MODEL_NOT_FOUND' },
    {
      name: 'metadata of an out-of-range version',
      model: 'colors',
      version: '99999999999999999999',
      code: 'BAD_REQUEST',
    },
    { name: 'metadata of a name with control characters', model: 'a\u001b[2Jb\r\n', code: 'MODEL_NOT_FOUND' },
    // A name the store could hold (up to 128 characters) is looked up; a longer one is refused
    // alike, below and above the HTTP router's own limit on a path parameter.
    { name: 'metadata of a 120-character name', model: 'x'.repeat(120), code: 'MODEL_NOT_FOUND' },
    { name: 'metadata of a 129-character name', model: 'x'.repeat(129), code: 'BAD_REQUEST' },
    { name: 'metadata of a 600-character name, over the router limit', model: 'é'.repeat(600), code: 'BAD_REQUEST' },
    { name: 'metadata of a 200-digit version', model: 'colors', version: '9'.repeat(200), code: 'BAD_REQUEST' },
  ];
  for (const c of METADATA_CASES) {
    it(c.name, async () => {
      const v = c.version !== undefined ? `/versions/${encodeURIComponent(c.version)}` : '';
      await both(
        c.name,
        c.code,
        (id) =>
          httpOutcome(`${srv.url}/v2/models/${encodeURIComponent(c.model)}${v}`, { headers: { 'x-request-id': id } }),
        (id) =>
          grpcOutcome(client, 'ModelMetadata', { name: c.model, version: c.version ?? '' }, { 'x-request-id': id }),
        c.version !== undefined ? '/v2/models/:model/versions/:version' : '/v2/models/:model',
        { method: 'ModelMetadata' },
      );
    });
  }

  /** The same cases with values in JSON `data` over HTTP and typed `contents` over gRPC. */
  const TYPED_CASES: Array<{ name: string; code: ErrorCode; json: object; contents: object; datatype: string }> = [
    {
      name: 'shape and data disagree (JSON data / fp32_contents)',
      code: 'INVALID_TENSOR',
      datatype: 'FP32',
      json: { data: [1, 2, 3] },
      contents: { fp32_contents: [1, 2, 3] },
    },
    {
      name: 'BYTES that are not an image (base64 data / bytes_contents)',
      code: 'INVALID_IMAGE',
      datatype: 'BYTES',
      json: { data: [Buffer.from('nope').toString('base64')] },
      contents: { bytes_contents: [Buffer.from('nope')] },
    },
  ];
  for (const c of TYPED_CASES) {
    it(c.name, async () => {
      const bytes = c.datatype === 'BYTES';
      const tensor = { name: bytes ? 'image' : 'input', datatype: c.datatype, shape: bytes ? [1] : goodShape };
      await both(
        c.name,
        c.code,
        (id) =>
          httpOutcome(`${srv.url}/v2/models/colors/infer`, {
            method: 'POST',
            body: JSON.stringify({ inputs: [{ ...tensor, ...c.json }] }),
            headers: { 'content-type': 'application/json', 'x-request-id': id },
          }),
        (id) =>
          grpcOutcome(
            client,
            'ModelInfer',
            { model_name: 'colors', inputs: [{ ...tensor, contents: c.contents }] },
            { 'x-request-id': id },
          ),
        '/v2/models/:model/infer',
      );
    });
  }

  it('a request id is kept, or replaced by a fresh one, by the same rule on both', async () => {
    const c: InferCase = { name: 'id', model: 'nope', inputs: [], code: 'MODEL_NOT_FOUND' };
    for (const sent of ['client-id-42', 'x'.repeat(300), 'two words', 'a;b=c']) {
      const { path, init } = httpInfer(c, sent);
      const h = await httpOutcome(`${srv.url}${path}`, init);
      const g = await grpcOutcome(client, 'ModelInfer', grpcInfer(c), { 'x-request-id': sent });
      assert.equal(h.requestId === sent, g.requestId === sent, `${sent}: ${h.requestId} / ${g.requestId}`);
      assert.ok(h.requestId && g.requestId && g.detailsId === g.requestId);
    }
  });

  it('a valid request is answered on both (the control case)', async () => {
    const c: InferCase = {
      name: 'valid',
      model: 'colors',
      inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
      classification: 2,
      code: 'BAD_REQUEST',
    };
    const { path, init } = httpInfer(c, 'parity-ok-h');
    const h = await httpOutcome(`${srv.url}${path}`, init);
    const g = await grpcOutcome(client, 'ModelInfer', grpcInfer(c), { 'x-request-id': 'parity-ok-g' });
    assert.deepEqual([h.status, h.code, h.requestId], [200, undefined, 'parity-ok-h']);
    assert.deepEqual([g.status, g.code, g.requestId], [grpc.status.OK, undefined, 'parity-ok-g']);
    for (const id of ['parity-ok-h', 'parity-ok-g']) {
      const got = await linesOf(id);
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(LEVELS[got[0]!.level], 'info');
    }
  });

  // The sizes differ by design: HTTP counts the body against LOUPE_MAX_UPLOAD_BYTES, gRPC the
  // protobuf message against it plus room for the message's framing.
  it('a message over the upload limit: PAYLOAD_TOO_LARGE on both (413 / RESOURCE_EXHAUSTED)', async () => {
    const c: InferCase = {
      name: 'too large',
      model: 'colors',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], raw: Buffer.alloc(MAX_UPLOAD + 128 * KiB) }],
      code: 'PAYLOAD_TOO_LARGE',
    };
    const { h, g } = await both(
      c.name,
      c.code,
      (id) => {
        const { path, init } = httpInfer(c, id);
        return httpOutcome(`${srv.url}${path}`, init);
      },
      (id) => grpcOutcome(client, 'ModelInfer', grpcInfer(c), { 'x-request-id': id }),
      '/v2/models/:model/infer',
      { sameMessage: false },
    );
    assert.match(h.message!, /^the request body is \d+ bytes; the limit is \d+$/);
    assert.match(g.message!, /^the request message is \d+ bytes; the limit is \d+$/);
  });

  it('malformed frames: malformed JSON and a lying binary header length over HTTP, invalid protobuf over gRPC', async () => {
    const garbage = Buffer.from([0x0a, 0x10, 0x61, 0x62]); // field 1 (model_name): 16 bytes announced, 2 sent
    const route = '/v2/models/:model/infer';
    const rpc = (id: string) => rawGrpcOutcome(srv.role.grpcAddress, 'ModelInfer', garbage, { 'x-request-id': id });
    const json = (id: string) =>
      httpOutcome(`${srv.url}/v2/models/colors/infer`, {
        method: 'POST',
        body: '{"inputs": [',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
      });
    const lying = (id: string) =>
      httpOutcome(`${srv.url}/v2/models/colors/infer`, {
        method: 'POST',
        body: Buffer.from('{"inputs": []}'),
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': '5000',
          'x-request-id': id,
        },
      });
    // Each transport's own wire garbage: the codes, statuses and log lines agree, the texts cannot.
    for (const [name, http] of [
      ['malformed JSON', json],
      ['binary header length past the body', lying],
    ] as const) {
      const hid = `parity-frame-h-${++seq}`;
      const gid = `parity-frame-g-${seq}`;
      await check(`${name} over HTTP`, await http(hid), hid, 'BAD_REQUEST', 400);
      void route;
      await check('invalid protobuf over gRPC', await rpc(gid), gid, 'BAD_REQUEST', grpc.status.INVALID_ARGUMENT);
    }
  });

  it('garbage on either transport (mutated and cut requests, seeded) is never INTERNAL nor logged as CANCELLED', async () => {
    let state = 0x2545f491;
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const c: InferCase = {
      name: 'fuzz',
      model: 'colors',
      inputs: [{ datatype: 'FP32', shape: goodShape, raw: fp32(C * H * W) }],
      classification: 2,
      code: 'BAD_REQUEST',
    };
    const valid = inferenceService().ModelInfer!.requestSerialize(grpcInfer(c));
    const { init } = httpInfer(c, 'unused');
    const validHttp = init.body as Buffer;
    const headerLength = (init.headers as Record<string, string>)['inference-header-content-length']!;
    const mutate = (b: Buffer) => {
      // Half of them cut short, all with a few bytes changed.
      const out = Buffer.from(random() < 0.5 ? b : b.subarray(0, 1 + Math.floor(random() * b.length)));
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) out[Math.floor(random() * out.length)] = random() * 256;
      return out;
    };
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      const gid = `parity-fuzz-g-${i}`;
      const hid = `parity-fuzz-h-${i}`;
      const g = await rawGrpcOutcome(srv.role.grpcAddress, 'ModelInfer', mutate(valid), { 'x-request-id': gid });
      const body = mutate(validHttp);
      const h = await httpOutcome(`${srv.url}/v2/models/colors/infer`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': headerLength,
          'x-request-id': hid,
        },
      });
      seen.push(`${g.code ?? 'OK'}/${h.code ?? 'OK'}`);
      assert.notEqual(g.status, grpc.status.INTERNAL, JSON.stringify(g));
      assert.notEqual(g.status, grpc.status.UNKNOWN, JSON.stringify(g));
      assert.ok(h.status < 500, JSON.stringify(h));
      for (const id of [gid, hid]) {
        const got = await linesOf(id);
        assert.equal(got.length, 1, `${id}: ${JSON.stringify(got)}`);
        assert.notEqual(got[0]!.grpc_code, 'CANCELLED', JSON.stringify(got[0]));
        assert.notEqual(LEVELS[got[0]!.level], 'error', JSON.stringify(got[0]));
      }
    }
    // The mutations reach more than one rule.
    assert.ok(new Set(seen).size > 2, seen.join(' '));
  });

  it('idle connections: a silent TCP connection closes on both ports within the HTTP headers time', async () => {
    const closedAfter = (port: number) =>
      new Promise<number>((resolve, reject) => {
        const started = Date.now();
        const s = net.connect(port, '127.0.0.1');
        s.setTimeout(HEADERS_MS + 10_000, () => s.destroy(new Error('still open')));
        s.on('data', () => undefined);
        s.on('error', reject);
        s.on('close', () => resolve(Date.now() - started));
      });
    const grpcPort = Number(srv.role.grpcAddress.split(':').at(-1));
    const [httpMs, grpcMs] = await Promise.all([closedAfter(Number(new URL(srv.url).port)), closedAfter(grpcPort)]);
    const limit = Math.max(httpMs, HEADERS_MS) + 1000;
    assert.ok(httpMs < HEADERS_MS + 1000, `HTTP closed a silent connection after ${httpMs} ms`);
    assert.ok(grpcMs < limit, `gRPC closed a silent connection after ${grpcMs} ms (HTTP: ${httpMs} ms)`);
  });
});
