import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../src/auth/index.ts';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { inferenceService } from '../../src/grpc/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient, rawGrpcCall } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const C = 3,
  H = 4,
  W = 4,
  K = 6;
const LABELS = ['a', 'b', 'c', 'd', 'e', 'f'];
const MAX_UPLOAD = 256 * 1024;
const tensor = (n: number) => Float32Array.from({ length: n * C * H * W }, (_, i) => Math.sin(i) * 2);
const f32 = (b: Uint8Array) => Array.from(new Float32Array(Uint8Array.from(b).buffer));
const bytesElements = (b: Uint8Array) => {
  const out: string[] = [];
  for (let off = 0; off < b.length;) {
    const len = Buffer.from(b.buffer, b.byteOffset).readUInt32LE(off);
    out.push(Buffer.from(b.subarray(off + 4, off + 4 + len)).toString());
    off += 4 + len;
  }
  return out;
};

// The OIP over gRPC against a real `loupe serve` with a real ONNX model, through clients built
// with @grpc/grpc-js from the vendored protos — Triton's (tritonclient's) and KServe's.
describe('Open Inference Protocol over gRPC', () => {
  let srv: TestServer;
  let triton: TestGrpcClient;
  let kserve: TestGrpcClient;
  const store = tempDir('loupe-grpc-');

  before(async () => {
    writeStoreModel(store, {
      name: 'tiny',
      channels: C,
      height: H,
      width: W,
      classes: K,
      resize: 'stretch',
      labels: LABELS,
      batching: { max_batch_size: 4, max_queue_delay_ms: 2 },
    });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'tiny',
      LOUPE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    });
    triton = grpcClient(srv.role.grpcAddress);
    kserve = grpcClient(srv.role.grpcAddress, 'kserve');
  });
  after(async () => {
    triton?.close();
    kserve?.close();
    await srv?.stop();
  });

  const http = (p: string, body?: unknown) =>
    fetch(`${srv.url}${p}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then(json);

  it('listens on its own port next to HTTP', () => {
    assert.match(srv.role.grpcAddress, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(srv.role.grpcAddress.split(':')[1], new URL(srv.url).port);
  });

  it('liveness, readiness and server metadata, as HTTP answers them', async () => {
    assert.deepEqual((await triton.call('ServerLive', {})).response, { live: true });
    assert.deepEqual((await triton.call('ServerReady', {})).response, { ready: true });
    const meta = (await triton.call('ServerMetadata', {})).response;
    const viaHttp = await http('/v2');
    assert.deepEqual(meta, { name: 'loupe', version: viaHttp.version, extensions: viaHttp.extensions });
    assert.deepEqual((await kserve.call('ServerMetadata', {})).response, meta);
  });

  it('model readiness and metadata; an unknown model is not ready', async () => {
    assert.deepEqual((await triton.call('ModelReady', { name: 'tiny' })).response, { ready: true });
    assert.deepEqual((await triton.call('ModelReady', { name: 'tiny', version: '1' })).response, { ready: true });
    assert.deepEqual((await triton.call('ModelReady', { name: 'nope' })).response, { ready: false });
    assert.deepEqual((await triton.call('ModelReady', { name: 'tiny', version: '9' })).response, { ready: false });
    const m = (await kserve.call('ModelMetadata', { name: 'tiny' })).response;
    const { parameters: _p, ...viaHttp } = await http('/v2/models/tiny');
    assert.deepEqual(m, viaHttp);
    assert.deepEqual(m.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, C, H, W] }]);
    const missing = await triton.call('ModelMetadata', { name: 'nope' });
    assert.equal(missing.error?.code, grpc.status.NOT_FOUND);
  });

  it('ModelInfer: a batch of 4 raw FP32 tensors gives the HTTP route’s scores, exactly; the ids come back', async () => {
    const data = tensor(4);
    const r = await triton.call(
      'ModelInfer',
      {
        model_name: 'tiny',
        id: 'req-42',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [4, C, H, W] }],
        raw_input_contents: [Buffer.from(data.buffer)],
      },
      { 'x-request-id': 'trace-me.1' },
    );
    assert.equal(r.error, undefined, r.error?.details);
    const res = r.response;
    assert.equal(res.model_name, 'tiny');
    assert.equal(res.model_version, '1');
    assert.equal(res.id, 'req-42');
    assert.deepEqual(res.outputs, [{ name: 'logits', datatype: 'FP32', shape: [4, K], parameters: {} }]);
    assert.equal(res.raw_output_contents.length, 1);
    const viaHttp = await http('/v2/models/tiny/infer', {
      inputs: [{ name: 'input', shape: [4, C, H, W], datatype: 'FP32', data: Array.from(data) }],
    });
    assert.deepEqual(f32(res.raw_output_contents[0]), viaHttp.outputs[0].data);
    assert.deepEqual(r.headers?.get('x-request-id'), ['trace-me.1']);
    assert.deepEqual(r.trailers?.get('x-request-id'), ['trace-me.1']);
  });

  it('ModelInfer with typed fp32_contents, and through a KServe client, gives the same scores', async () => {
    const data = tensor(1);
    const request = {
      model_name: 'tiny',
      model_version: '1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, H, W], contents: { fp32_contents: Array.from(data) } }],
    };
    const typed = (await triton.call('ModelInfer', request)).response;
    const raw = (
      await kserve.call('ModelInfer', {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, H, W] }],
        raw_input_contents: [Buffer.from(data.buffer)],
      })
    ).response;
    assert.deepEqual(f32(typed.raw_output_contents[0]), f32(raw.raw_output_contents[0]));
    assert.equal(typed.id, '');
  });

  it('BYTES image inputs (raw and bytes_contents) give the HTTP route’s scores and classification strings', async () => {
    const png = fixture('dog-160x120.png');
    const jpg = fixture('dog-160x120.jpg');
    const viaHttp = await http('/v2/models/tiny/infer', {
      inputs: [
        { name: 'image', shape: [2], datatype: 'BYTES', data: [png.toString('base64'), jpg.toString('base64')] },
      ],
    });
    const raw = await triton.call('ModelInfer', {
      model_name: 'tiny',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [2] }],
      raw_input_contents: [encodeBytesElements([png, jpg])],
    });
    assert.equal(raw.error, undefined, raw.error?.details);
    assert.deepEqual(f32(raw.response.raw_output_contents[0]), viaHttp.outputs[0].data);
    const classified = { outputs: [{ name: 'logits', parameters: { classification: 3 } }] };
    const httpCls = await http('/v2/models/tiny/infer', {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [png.toString('base64')] }],
      ...classified,
    });
    const cls = await triton.call('ModelInfer', {
      model_name: 'tiny',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
      outputs: [{ name: 'logits', parameters: { classification: { int64_param: 3 } } }],
    });
    const out = cls.response.outputs[0];
    assert.deepEqual([out.datatype, out.shape], ['BYTES', [1, 3]]);
    const strings = bytesElements(cls.response.raw_output_contents[0]);
    assert.deepEqual(strings, httpCls.outputs[0].data);
    assert.match(strings[0]!, /^-?[\d.]+:\d:[a-f]$/);
    // One image: its decoded size and stage timings come back as response parameters.
    assert.deepEqual(cls.response.parameters.loupe_image_width, { int64_param: 160, parameter_choice: 'int64_param' });
    assert.equal(cls.response.parameters.loupe_image_format.string_param, 'png');
  });

  const failures: Array<[string, object, grpc.status, string]> = [
    ['an unknown model', { model_name: 'nope', inputs: [] }, grpc.status.NOT_FOUND, 'MODEL_NOT_FOUND'],
    [
      'an unknown version',
      { model_name: 'tiny', model_version: '7', inputs: [] },
      grpc.status.NOT_FOUND,
      'MODEL_NOT_FOUND',
    ],
    ['no model name', { inputs: [] }, grpc.status.INVALID_ARGUMENT, 'BAD_REQUEST'],
    [
      'a wrong input name',
      {
        model_name: 'tiny',
        inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, C, H, W] }],
        raw_input_contents: [Buffer.from(tensor(1).buffer)],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
    [
      'a wrong shape',
      {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, 8, 2] }],
        raw_input_contents: [Buffer.from(tensor(1).buffer)],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
    [
      'bytes that do not fill the shape',
      {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, C, H, W] }],
        raw_input_contents: [Buffer.from(tensor(1).buffer)],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
    [
      'a batch over max_batch_size',
      {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [5, C, H, W] }],
        raw_input_contents: [Buffer.from(tensor(5).buffer)],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
    [
      'an unsupported datatype',
      {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'INT32', shape: [1], contents: { int_contents: [1] } }],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
    [
      'BYTES that are not an image',
      {
        model_name: 'tiny',
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('nope')] } }],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_IMAGE',
    ],
    [
      'an unknown output',
      {
        model_name: 'tiny',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, H, W] }],
        outputs: [{ name: 'probs' }],
        raw_input_contents: [Buffer.from(tensor(1).buffer)],
      },
      grpc.status.INVALID_ARGUMENT,
      'INVALID_TENSOR',
    ],
  ];
  for (const [what, request, code, loupeCode] of failures) {
    it(`ModelInfer with ${what}: ${grpc.status[code]}, Loupe's message, code and request id`, async () => {
      const r = await triton.call('ModelInfer', request, { 'x-request-id': 'bad-1' });
      assert.equal(r.error?.code, code, r.error?.details);
      assert.match(r.error!.details, / \(request id bad-1\)$/);
      assert.deepEqual(r.trailers?.get('x-loupe-error-code'), [loupeCode]);
      assert.deepEqual(r.trailers?.get('x-request-id'), ['bad-1']);
    });
  }

  it('a message over LOUPE_MAX_UPLOAD_BYTES (plus header room) is RESOURCE_EXHAUSTED, and the server goes on', async () => {
    const big = Buffer.alloc(MAX_UPLOAD + 128 * 1024);
    const r = await triton.call('ModelInfer', {
      model_name: 'tiny',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
      raw_input_contents: [big],
    });
    assert.equal(r.error?.code, grpc.status.RESOURCE_EXHAUSTED, r.error?.details);
    assert.deepEqual((await triton.call('ServerLive', {})).response, { live: true });
  });

  it('what Loupe does not serve is UNIMPLEMENTED, saying why; model control is refused in poll mode', async () => {
    const load = await triton.call('RepositoryModelLoad', { model_name: 'tiny' });
    assert.equal(load.error?.code, grpc.status.FAILED_PRECONDITION);
    assert.match(load.error!.details, /explicit model load is not allowed: LOUPE_MODEL_CONTROL is poll/);
    const shm = await triton.call('SystemSharedMemoryStatus', {});
    assert.equal(shm.error?.code, grpc.status.UNIMPLEMENTED);
  });

  // The HTTP answer as the protobuf message carries it (proto3 leaves out default values).
  const asProto = (method: string, body: unknown) => {
    const m = inferenceService()[method]!;
    return m.responseDeserialize(m.responseSerialize(body));
  };

  it('ModelConfig, ModelStatistics and RepositoryIndex carry what the HTTP routes answer', async () => {
    const config = await triton.call('ModelConfig', { name: 'tiny', version: '1' });
    assert.equal(config.error, undefined, config.error?.details);
    assert.deepEqual(config.response, asProto('ModelConfig', { config: await http('/v2/models/tiny/config') }));
    assert.equal(config.response.config.max_batch_size, 4);
    assert.deepEqual(config.response.config.input[0].dims, [C, H, W]);
    const stats = await triton.call('ModelStatistics', { name: 'tiny' });
    assert.deepEqual(stats.response, asProto('ModelStatistics', await http('/v2/models/tiny/stats')));
    assert.ok(stats.response.model_stats[0].inference_count >= 4);
    const all = await triton.call('ModelStatistics', {});
    assert.deepEqual(
      all.response.model_stats.map((s: { name: string }) => s.name),
      ['tiny'],
    );
    const index = await triton.call('RepositoryIndex', { ready: true });
    assert.deepEqual(index.response, { models: [{ name: 'tiny', version: '1', state: 'READY' }] });
    assert.deepEqual(
      index.response,
      asProto('RepositoryIndex', {
        models: await fetch(`${srv.url}/v2/repository/index`, { method: 'POST', body: '{"ready":true}' }).then(json),
      }),
    );
    assert.equal((await triton.call('ModelConfig', { name: 'nope' })).error?.code, grpc.status.NOT_FOUND);
  });

  it('every call is counted in /metrics by method and code', async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(text, /loupe_grpc_requests_total\{method="ModelInfer",code="OK"\} [1-9]/);
    assert.match(text, /loupe_grpc_requests_total\{method="ModelInfer",code="NOT_FOUND"\} [1-9]/);
    assert.match(text, /loupe_grpc_request_duration_seconds_count\{method="ServerLive",code="OK"\} [1-9]/);
  });
});

// API keys and the per-key rate shared with HTTP: test/unit/grpc/auth.test.ts, over a stub backend.

/** A call sent by hand over HTTP/2: its headers, then `message` (a raw gRPC frame) or nothing at all. */
function rawCall(session: http2.ClientHttp2Session, method: string, message?: Buffer) {
  const stream = rawGrpcCall(session, method);
  if (message) stream.end(message);
  const status = new Promise<string | undefined>((resolve) => {
    stream.on('response', (h) => h['grpc-status'] !== undefined && resolve(String(h['grpc-status'])));
    stream.on('trailers', (h) => resolve(String(h['grpc-status'])));
    stream.on('close', () => resolve(undefined));
  });
  return { stream, status };
}

describe('gRPC calls that hold nothing: open and small RPCs', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  const predict = generateKey();
  const MAX = 256 * 1024;

  before(async () => {
    const store = tempDir('loupe-grpc-hold-');
    writeStoreModel(store, { name: 'tiny', channels: 1, height: 4, width: 4, classes: 3 });
    const file = path.join(tempDir('loupe-grpc-hold-keys-'), 'api_keys');
    writeFileSync(file, `poster predict ${predict.key}\n`);
    srv = await startServe({
      LOUPE_AUTH: 'required',
      LOUPE_API_KEYS_FILE: file,
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'tiny',
      LOUPE_MAX_UPLOAD_BYTES: String(MAX),
      // Room for three uploads of LOUPE_MAX_UPLOAD_BYTES.
      LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: String(3 * MAX),
    });
    client = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  it(
    'streams to open RPCs that never send their message hold no upload budget, and end within 5 s',
    { timeout: 30_000 },
    async () => {
      const session = http2.connect(`http://${srv.role.grpcAddress}`);
      session.on('error', () => undefined);
      try {
        const idle = Array.from({ length: 24 }, (_, i) => rawCall(session, ['ServerLive', 'ServerReady'][i % 2]!));
        await new Promise((r) => setTimeout(r, 300));
        const auth = { authorization: `Bearer ${predict.key}` };
        const body = JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4, 4], data: Array(16).fill(0.5) }],
        });
        const upload = await fetch(`${srv.url}/v2/models/tiny/infer`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: body + ' '.repeat(MAX - body.length - 1024),
        });
        assert.equal(upload.status, 200, await upload.text());
        const infer = {
          model_name: 'tiny',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4, 4] }],
          raw_input_contents: [Buffer.alloc(64)],
        };
        const started = Date.now();
        const ok = await client.call('ModelInfer', infer, auth);
        assert.equal(ok.error, undefined, ok.error?.details);
        assert.ok(Date.now() - started < 2000, 'it did not wait for room in the budget');
        // LOUPE_REQUEST_TIMEOUT_MS is 300 s; a small RPC's message gets 5 s.
        const statuses = await Promise.all(idle.map((c) => c.status));
        assert.deepEqual(new Set(statuses), new Set([String(grpc.status.DEADLINE_EXCEEDED)]));
        assert.ok(Date.now() - started < 8000);
      } finally {
        session.destroy();
      }
    },
  );

  it(
    'a message over 64 KiB to an RPC that uploads nothing is RESOURCE_EXHAUSTED before it is read',
    { timeout: 10_000 },
    async () => {
      const session = http2.connect(`http://${srv.role.grpcAddress}`);
      session.on('error', () => undefined);
      try {
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(100 * 1024, 1);
        // Only the length prefix is sent: the refusal cannot come from a message read whole.
        const big = rawCall(session, 'ServerLive');
        big.stream.write(frame);
        assert.equal(await big.status, String(grpc.status.RESOURCE_EXHAUSTED));
        assert.deepEqual((await client.call('ServerLive', {})).response, { live: true }, 'a small one is fine');
      } finally {
        session.destroy();
      }
    },
  );
});
