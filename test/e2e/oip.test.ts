import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

// Checked against kserve/open-inference-protocol specification/protocol/inference_rest.md
// and Triton's binary_data and classification extensions.
describe('Open Inference Protocol v2', () => {
  let srv: TestServer;
  let model: { weights: number[][]; bias: number[] };
  const store = tempDir('loupe-oip-');
  const C = 3,
    H = 4,
    W = 4,
    K = 6;

  before(async () => {
    model = writeStoreModel(store, {
      name: 'tiny',
      channels: C,
      height: H,
      width: W,
      classes: K,
      resize: 'stretch',
      labels: ['a', 'b', 'c', 'd', 'e', 'f'],
    });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'tiny' });
  });
  after(() => srv.stop());

  /** What the graph computes: per-channel means through a Gemm. */
  const expected = (data: number[], n: number) =>
    Array.from({ length: n }, (_, i) => {
      const means = Array.from({ length: C }, (_, c) => {
        const start = i * C * H * W + c * H * W;
        return data.slice(start, start + H * W).reduce((a, b) => a + b, 0) / (H * W);
      });
      return model.bias.map((b, k) => b + means.reduce((acc, m, c) => acc + m * model.weights[c]![k]!, 0));
    }).flat();
  const tensor = (n: number) => Array.from({ length: n * C * H * W }, (_, i) => Math.sin(i) * 2);
  const infer = (
    body: unknown,
    path = '/v2/models/tiny/infer',
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) =>
    fetch(`${srv.url}${path}`, {
      method: 'POST',
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      headers,
    });

  it('server metadata, liveness and readiness', async () => {
    const meta = await json(await fetch(`${srv.url}/v2`));
    assert.equal(meta.name, 'loupe');
    assert.equal(typeof meta.version, 'string');
    assert.deepEqual(meta.extensions, [
      'binary_tensor_data',
      'classification',
      'model_configuration',
      'model_repository',
      'statistics',
      'loupe_image_bytes',
    ]);
    assert.deepEqual(await json(await fetch(`${srv.url}/v2/health/live`)), { live: true });
    const ready = await fetch(`${srv.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await json(ready), { ready: true });
  });

  it('model metadata and readiness, with and without a version', async () => {
    for (const path of ['/v2/models/tiny', '/v2/models/tiny/versions/1']) {
      const m = await json(await fetch(`${srv.url}${path}`));
      assert.equal(m.name, 'tiny');
      assert.deepEqual(m.versions, ['1']);
      assert.equal(m.platform, 'onnxruntime_onnx');
      assert.deepEqual(m.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, C, H, W] }]);
      assert.deepEqual(m.outputs, [{ name: 'logits', datatype: 'FP32', shape: [-1, K] }]);
    }
    assert.deepEqual(await json(await fetch(`${srv.url}/v2/models/tiny/ready`)), { name: 'tiny', ready: true });
    assert.deepEqual(await json(await fetch(`${srv.url}/v2/models/tiny/versions/1/ready`)), {
      name: 'tiny',
      ready: true,
    });
    for (const path of ['/v2/models/nope', '/v2/models/tiny/versions/7', '/v2/models/nope/ready']) {
      const res = await fetch(`${srv.url}${path}`);
      assert.equal(res.status, 404);
      assert.equal(typeof (await json(res)).error, 'string');
    }
  });

  it('FP32 inference in JSON, flat and nested, echoing the request id', async () => {
    const data = tensor(2);
    const res = await infer({ id: 'r-42', inputs: [{ name: 'input', shape: [2, C, H, W], datatype: 'FP32', data }] });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model_name, 'tiny');
    assert.equal(body.model_version, '1');
    assert.equal(body.id, 'r-42');
    assert.equal(body.outputs.length, 1);
    const out = body.outputs[0];
    assert.deepEqual([out.name, out.datatype, out.shape], ['logits', 'FP32', [2, K]]);
    expected(data, 2).forEach((v, i) =>
      assert.ok(Math.abs(out.data[i] - v) < 1e-4, `logit ${i}: ${out.data[i]} vs ${v}`),
    );
    const nested = [[0, 1, 2].map((c) => [0, 1, 2, 3].map((y) => [0, 1, 2, 3].map((x) => data[c * 16 + y * 4 + x]!)))];
    const body2 = await json(
      await infer(
        { inputs: [{ name: 'input', shape: [1, C, H, W], datatype: 'FP32', data: nested }] },
        '/v2/models/tiny/versions/1/infer',
      ),
    );
    assert.deepEqual(body2.outputs[0].data, out.data.slice(0, K));
    assert.equal(body2.id, undefined);
  });

  it('BYTES input with base64 images and the classification extension', async () => {
    const img = fixture('dog-160x120.png').toString('base64');
    const res = await infer({
      inputs: [{ name: 'image', shape: [2], datatype: 'BYTES', data: [img, img] }],
      outputs: [{ name: 'logits', parameters: { classification: 3 } }],
    });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    const out = body.outputs[0];
    assert.deepEqual([out.datatype, out.shape], ['BYTES', [2, 3]]);
    for (const s of out.data) assert.match(s, /^-?\d+(\.\d+)?(e-?\d+)?:[0-5]:[a-f]$/);
    assert.deepEqual(out.data.slice(0, 3), out.data.slice(3));
    const scores = out.data.slice(0, 3).map((s: string) => Number(s.split(':')[0]));
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
    );
  });

  it('binary tensor extension: a binary request and binary response round-trip exactly', async () => {
    const data = Float32Array.from(tensor(3));
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'input', shape: [3, C, H, W], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } },
        ],
        outputs: [{ name: 'logits', parameters: { binary_data: true } }],
      }),
    );
    const res = await infer(Buffer.concat([header, Buffer.from(data.buffer)]), '/v2/models/tiny/infer', {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    assert.equal(res.status, 200);
    const hl = Number(res.headers.get('inference-header-content-length'));
    const buf = Buffer.from(await res.arrayBuffer());
    const head = JSON.parse(buf.subarray(0, hl).toString());
    assert.deepEqual(head.outputs[0].parameters, { binary_data_size: 3 * K * 4 });
    const binaryOut = new Float32Array(buf.buffer.slice(buf.byteOffset + hl, buf.byteOffset + buf.length));
    const viaJson = await json(
      await infer({ inputs: [{ name: 'input', shape: [3, C, H, W], datatype: 'FP32', data: Array.from(data) }] }),
    );
    assert.deepEqual(Array.from(binaryOut), viaJson.outputs[0].data.map(Math.fround));
  });

  const bad: Array<[string, unknown, number]> = [
    ['not JSON', '{"inputs": [', 400],
    ['no inputs', { outputs: [] }, 400],
    [
      'wrong shape',
      { inputs: [{ name: 'input', shape: [1, 3, 5, 5], datatype: 'FP32', data: new Array(75).fill(0) }] },
      400,
    ],
    [
      'data shorter than shape',
      { inputs: [{ name: 'input', shape: [1, C, H, W], datatype: 'FP32', data: [1, 2, 3] }] },
      400,
    ],
    [
      'unknown input name',
      { inputs: [{ name: 'pixels', shape: [1, C, H, W], datatype: 'FP32', data: new Array(48).fill(0) }] },
      400,
    ],
    [
      'unsupported datatype',
      { inputs: [{ name: 'input', shape: [1, C, H, W], datatype: 'INT8', data: new Array(48).fill(0) }] },
      400,
    ],
    [
      'unknown output',
      {
        inputs: [{ name: 'input', shape: [1, C, H, W], datatype: 'FP32', data: new Array(48).fill(0) }],
        outputs: [{ name: 'probs' }],
      },
      400,
    ],
    [
      'BYTES that are not an image',
      { inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [Buffer.from('nope').toString('base64')] }] },
      422,
    ],
  ];
  for (const [name, body, status] of bad) {
    it(`malformed: ${name} → ${status} {"error": "..."}`, async () => {
      const res = await infer(body);
      const b = await json(res);
      assert.equal(res.status, status, JSON.stringify(b));
      assert.equal(typeof b.error, 'string');
      assert.deepEqual(Object.keys(b), ['error']);
    });
  }

  it('unknown model → 404', async () => {
    const res = await infer(
      { inputs: [{ name: 'input', shape: [1, C, H, W], datatype: 'FP32', data: new Array(48).fill(0) }] },
      '/v2/models/nope/infer',
    );
    assert.equal(res.status, 404);
    assert.match((await json(res)).error, /nope/);
  });
});
