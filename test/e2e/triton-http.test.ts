import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { printfF } from '../../src/inference/classification.ts';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

const MiB = 1024 * 1024;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** As it came over the wire: not decompressed. */
  body: Buffer;
}

/**
 * A request exactly as Triton's Python HTTP client (geventhttpclient) sends it: only the
 * headers given (no Content-Type, no Accept-Encoding unless asked), a Content-Length.
 */
function send(base: string, method: string, path: string, body?: Buffer, headers: http.OutgoingHttpHeaders = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<Raw>((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method, headers, setHost: true }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body) req.setHeader('content-length', body.length);
    req.end(body);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const parse = (r: Raw): any => JSON.parse(r.body.toString('utf8'));

/** The body of an answer, decoded as a client that sent Accept-Encoding does (Triton's client too). */
function decoded(r: Raw): Buffer {
  const e = r.headers['content-encoding'];
  if (e === 'gzip') return zlib.gunzipSync(r.body);
  if (e === 'deflate') return zlib.inflateSync(r.body);
  if (e === 'br') return zlib.brotliDecompressSync(r.body);
  return r.body;
}

/** Where a binary answer's JSON header ends and its tensors begin (Inference-Header-Content-Length). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function splitBinary(r: Raw): { header: any; data: Buffer } {
  const body = decoded(r);
  const n = Number(r.headers['inference-header-content-length']);
  return { header: JSON.parse(body.subarray(0, n).toString('utf8')), data: body.subarray(n) };
}

describe("Triton's HTTP clients, as they send requests", () => {
  let srv: TestServer;
  const store = tempDir('loupe-triton-');
  const C = 3,
    H = 4,
    W = 4,
    K = 6;
  const labels = ['a', 'b', 'c', 'd', 'e', 'f'];

  before(async () => {
    writeStoreModel(store, { name: 'tiny', channels: C, height: H, width: W, classes: K, resize: 'stretch', labels });
    // Enough classes that one answer passes the 1 KiB compression threshold, binary too; batches
    // of 16, over the default of 8.
    writeStoreModel(store, {
      name: 'wide',
      channels: 1,
      height: 2,
      width: 2,
      classes: 100,
      resize: 'stretch',
      batching: { max_batch_size: 16 },
    });
    // A store entry that cannot load: the repository index lists it as UNAVAILABLE.
    writeStoreModel(store, { name: 'broken', channels: 1, height: 2, width: 2, classes: 2 });
    writeFileSync(path.join(store, 'broken', '1', 'model.onnx'), 'not an onnx file');
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'tiny',
      LOUPE_MAX_UPLOAD_BYTES: String(MiB),
      // One largest upload at a time: a reservation left behind shows as a 503 on the next one.
      LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: String(MiB),
    });
  });
  after(() => srv.stop());

  const tensor = (n: number) => Array.from({ length: n * C * H * W }, (_, i) => Math.sin(i) * 2);
  const jsonBody = (n: number, extra: object = {}) =>
    Buffer.from(
      JSON.stringify({ inputs: [{ name: 'input', shape: [n, C, H, W], datatype: 'FP32', data: tensor(n) }], ...extra }),
    );
  /** What tritonclient.http builds for a binary input and a binary output. */
  const binaryBody = (n: number) => {
    const data = Buffer.from(Float32Array.from(tensor(n)).buffer);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'input', shape: [n, C, H, W], datatype: 'FP32', parameters: { binary_data_size: data.length } },
        ],
        outputs: [{ name: 'logits', parameters: { binary_data: true } }],
      }),
    );
    return { body: Buffer.concat([header, data]), headers: { 'Inference-Header-Content-Length': header.length } };
  };
  const infer = (body: Buffer, headers: http.OutgoingHttpHeaders = {}, model = 'tiny') =>
    send(srv.url, 'POST', `/v2/models/${model}/infer`, body, headers);
  let reference: number[];

  it('infers a JSON body sent with no Content-Type', async () => {
    const r = await infer(jsonBody(2));
    assert.equal(r.status, 200, r.body.toString());
    const out = parse(r).outputs[0];
    assert.deepEqual([out.name, out.datatype, out.shape], ['logits', 'FP32', [2, K]]);
    reference = out.data;
  });

  it('infers a binary body sent with no Content-Type (Inference-Header-Content-Length alone)', async () => {
    const { body, headers } = binaryBody(2);
    const r = await infer(body, headers);
    assert.equal(r.status, 200, r.body.toString());
    const { header, data } = splitBinary(r);
    assert.equal(header.outputs[0].parameters.binary_data_size, 2 * K * 4);
    const scores = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    assert.deepEqual(Array.from(scores), reference.map(Math.fround));
  });

  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/pdf', 'nonsense', '']) {
    it(`ignores the Content-Type ${JSON.stringify(type)}, as Triton does`, async () => {
      const r = await infer(jsonBody(2), { 'Content-Type': type });
      assert.equal(r.status, 200, r.body.toString());
      assert.deepEqual(parse(r).outputs[0].data, reference);
    });
  }

  const encoders: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => zlib.gzipSync(b)],
    ['deflate', (b) => zlib.deflateSync(b)], // zlib-wrapped, as tritonclient's zlib.compress()
    ['identity', (b) => b],
  ];
  for (const [encoding, encode] of encoders) {
    it(`decodes a ${encoding} request body (JSON and binary)`, async () => {
      const r = await infer(encode(jsonBody(2)), { 'Content-Encoding': encoding });
      assert.equal(r.status, 200, r.body.toString());
      assert.deepEqual(parse(r).outputs[0].data, reference);
      const { body, headers } = binaryBody(2);
      const b = await infer(encode(body), { ...headers, 'Content-Encoding': encoding });
      assert.equal(b.status, 200, b.body.toString());
      assert.equal(splitBinary(b).data.length, 2 * K * 4);
    });
  }

  it('a gzip bomb gets 413 once its decoded bytes pass the limit, and the server keeps serving', async () => {
    // 64 MiB of zeros in about 64 KiB; the limit is 1 MiB.
    const bomb = zlib.gzipSync(Buffer.alloc(64 * MiB), { level: 9 });
    assert.ok(bomb.length < 128 * 1024);
    const r = await infer(bomb, { 'Content-Encoding': 'gzip' });
    assert.equal(r.status, 413, r.body.toString());
    assert.match(parse(r).error, /decoded request body is at least \d+ bytes; the limit is 1048576/);
    // A body of almost the whole budget fits only if the bomb gave back all it reserved.
    const full = Buffer.concat([jsonBody(1), Buffer.alloc(MiB - 1024 - jsonBody(1).length, ' ')]);
    const after = await infer(full);
    assert.equal(after.status, 200, after.body.toString());
  });

  it('corrupt gzip → 400, an encoding Loupe cannot decode → 415, each with a clear JSON error', async () => {
    const gz = zlib.gzipSync(jsonBody(1));
    const cut = await infer(gz.subarray(0, gz.length - 20), { 'Content-Encoding': 'gzip' });
    assert.equal(cut.status, 400);
    assert.match(parse(cut).error, /gzip-encoded request body could not be decoded/);
    const garbage = await infer(Buffer.from('definitely not gzip'), { 'Content-Encoding': 'gzip' });
    assert.equal(garbage.status, 400);
    const br = await infer(zlib.brotliCompressSync(jsonBody(1)), { 'Content-Encoding': 'br' });
    assert.equal(br.status, 415);
    assert.match(parse(br).error, /Content-Encoding "br" is not supported/);
    assert.equal(br.headers['accept-encoding'], 'gzip, deflate');
    assert.equal(typeof br.headers['x-request-id'], 'string');
  });

  it('compresses answers for clients that send Accept-Encoding; they decode to the same result', async () => {
    const wide = (binary: boolean) =>
      Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'input', shape: [16, 1, 2, 2], datatype: 'FP32', data: tensor(16).slice(0, 64) }],
          outputs: [{ name: 'logits', parameters: { binary_data: binary } }],
        }),
      );
    const plain = await infer(wide(false), {}, 'wide');
    assert.equal(plain.headers['content-encoding'], undefined);
    const expected: number[] = parse(plain).outputs[0].data;
    assert.equal(expected.length, 16 * 100);
    for (const encoding of ['gzip', 'deflate']) {
      const r = await infer(wide(false), { 'Accept-Encoding': encoding }, 'wide');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], encoding);
      assert.ok(r.body.length < decoded(r).length);
      assert.deepEqual(JSON.parse(decoded(r).toString()).outputs[0].data, expected);
      // A binary answer: Inference-Header-Content-Length counts the decoded JSON header.
      const b = await infer(wide(true), { 'Accept-Encoding': encoding }, 'wide');
      assert.equal(b.headers['content-encoding'], encoding);
      const { header, data } = splitBinary(b);
      assert.equal(header.outputs[0].parameters.binary_data_size, data.length);
      const scores = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
      assert.deepEqual(Array.from(scores), expected.map(Math.fround));
    }
  });

  it('classification strings are Triton\'s "<%f score>:<index>:<label>"', async () => {
    const r = await infer(jsonBody(2, { outputs: [{ name: 'logits', parameters: { classification: 3 } }] }));
    const out = parse(r).outputs[0];
    assert.deepEqual([out.datatype, out.shape], ['BYTES', [2, 3]]);
    for (const [row, strings] of [out.data.slice(0, 3), out.data.slice(3)].entries()) {
      const scores = reference.slice(row * K, (row + 1) * K).map(Math.fround);
      const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      assert.deepEqual(
        strings,
        order.slice(0, 3).map(([s, i]) => `${printfF(s)}:${i}:${labels[i]}`),
      );
      for (const s of strings) assert.match(s, /^-?\d+\.\d{6}:\d:[a-f]$/);
    }
  });

  it('model configuration, as tritonclient get_model_config() reads it', async () => {
    for (const p of ['/v2/models/tiny/config', '/v2/models/tiny/versions/1/config']) {
      const r = await send(srv.url, 'GET', p);
      assert.equal(r.status, 200);
      const c = parse(r);
      assert.equal(c.name, 'tiny');
      assert.equal(c.platform, 'onnxruntime_onnx');
      assert.equal(c.backend, 'onnxruntime');
      assert.equal(c.max_batch_size, 8);
      assert.deepEqual(c.input, [
        {
          name: 'input',
          data_type: 'TYPE_FP32',
          format: 'FORMAT_NCHW',
          dims: [C, H, W],
          is_shape_tensor: false,
          allow_ragged_batch: false,
          optional: false,
          is_non_linear_format_io: false,
        },
      ]);
      assert.deepEqual(c.output, [
        {
          name: 'logits',
          data_type: 'TYPE_FP32',
          dims: [K],
          label_filename: 'labels.txt',
          is_shape_tensor: false,
          is_non_linear_format_io: false,
        },
      ]);
      assert.deepEqual(c.dynamic_batching.default_queue_policy.max_queue_size, 256);
      assert.equal(c.dynamic_batching.max_queue_delay_microseconds, 0);
      assert.deepEqual(c.version_policy, { all: {} });
      assert.equal(c.instance_group[0].kind, 'KIND_CPU');
    }
    for (const p of ['/v2/models/nope/config', '/v2/models/tiny/versions/9/config']) {
      const r = await send(srv.url, 'GET', p);
      assert.equal(r.status, 404);
      assert.deepEqual(Object.keys(parse(r)), ['error']);
    }
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const stats = async (p = '/v2/models/tiny/stats'): Promise<any> => {
    const r = await send(srv.url, 'GET', p);
    assert.equal(r.status, 200, r.body.toString());
    const all = parse(r).model_stats;
    return all.length === 1 ? all[0] : all;
  };

  it('statistics count exactly the requests made: successes, samples, failures', async () => {
    const before = await stats();
    const since = Date.now();
    assert.equal(before.name, 'tiny');
    assert.equal(before.version, '1');
    const ok = [jsonBody(1), jsonBody(3), binaryBody(2).body];
    for (const b of ok.slice(0, 2)) assert.equal((await infer(b)).status, 200);
    assert.equal((await infer(ok[2]!, binaryBody(2).headers)).status, 200);
    const img = fixture('dog-160x120.png');
    const form = new FormData();
    form.append('file', new Blob([img]), 'dog.png');
    assert.equal((await fetch(`${srv.url}/predict?model=tiny`, { method: 'POST', body: form })).status, 200);
    // Failed requests to the model count as failures; an unknown model counts nowhere.
    const wrongShape = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'input', shape: [1, C, 5, 5], datatype: 'FP32', data: Array(75).fill(0) }] }),
    );
    assert.equal((await infer(wrongShape)).status, 400);
    assert.equal((await infer(jsonBody(1), {}, 'nope')).status, 404);

    const after = await stats();
    const d = (f: (s: any) => number) => f(after) - f(before); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(
      d((s) => s.inference_stats.success.count),
      4,
    );
    assert.equal(
      d((s) => s.inference_stats.fail.count),
      1,
    );
    assert.ok(d((s) => s.inference_stats.fail.ns) > 0);
    assert.equal(
      d((s) => s.inference_count),
      1 + 3 + 2 + 1,
    );
    const runs = d((s) => s.execution_count);
    assert.ok(runs >= 4 && runs <= 7, `${runs} executions`);
    for (const stage of ['queue', 'compute_input', 'compute_infer', 'compute_output']) {
      assert.equal(
        d((s) => s.inference_stats[stage].count),
        4,
        stage,
      );
      assert.ok(d((s) => s.inference_stats[stage].ns) > 0, stage);
    }
    assert.ok(d((s) => s.inference_stats.success.ns) >= d((s) => s.inference_stats.compute_infer.ns));
    assert.equal(after.inference_stats.cache_hit.count, 0);
    assert.ok(after.last_inference >= since && after.last_inference <= Date.now());
    // Per batch size: the runs and the samples add up to the totals.
    const sum = (f: (b: any) => number) => after.batch_stats.reduce((a: number, b: any) => a + f(b), 0); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(
      sum((b) => b.compute_infer.count),
      after.execution_count,
    );
    assert.equal(
      sum((b) => b.batch_size * b.compute_infer.count),
      after.inference_count,
    );

    const versioned = await stats('/v2/models/tiny/versions/1/stats');
    assert.equal(versioned.inference_count, after.inference_count);
    const every = await stats('/v2/models/stats');
    assert.deepEqual(
      every.map((s: { name: string }) => s.name),
      ['tiny', 'wide'],
    );
    for (const p of ['/v2/models/nope/stats', '/v2/models/tiny/versions/2/stats']) {
      const r = await send(srv.url, 'GET', p);
      assert.equal(r.status, 404);
      assert.match(parse(r).error, /nope|version "2"/);
    }
  });

  it('repository index: ready versions and the store entries that could not load', async () => {
    for (const body of [undefined, Buffer.from(''), Buffer.from('{}'), Buffer.from('{"ready": false}')]) {
      const r = await send(srv.url, 'POST', '/v2/repository/index', body);
      assert.equal(r.status, 200, r.body.toString());
      const index = parse(r);
      assert.deepEqual(
        index.map((e: { name: string; version: string; state: string }) => [e.name, e.version, e.state]),
        [
          ['broken', '1', 'UNAVAILABLE'],
          ['tiny', '1', 'READY'],
          ['wide', '1', 'READY'],
        ],
      );
      assert.equal(typeof index[0].reason, 'string');
      assert.ok(index[0].reason.length > 0);
      assert.equal(index[1].reason, undefined);
    }
    const ready = parse(await send(srv.url, 'POST', '/v2/repository/index', Buffer.from('{"ready": true}')));
    assert.deepEqual(
      ready.map((e: { name: string }) => e.name),
      ['tiny', 'wide'],
    );
    for (const bad of ['{"ready": "yes"}', '[1]', '{"ready": tru']) {
      const r = await send(srv.url, 'POST', '/v2/repository/index', Buffer.from(bad));
      assert.equal(r.status, 400, bad);
      assert.equal(typeof parse(r).error, 'string');
    }
  });

  const errors: Array<[string, Buffer, string, number, RegExp]> = [
    [
      'wrong input name',
      Buffer.from(
        JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, C, H, W], datatype: 'FP32', data: tensor(1) }] }),
      ),
      'tiny',
      400,
      /unknown input "pixels"/,
    ],
    [
      'wrong shape',
      Buffer.from(
        JSON.stringify({ inputs: [{ name: 'input', shape: [1, C, 2, 8], datatype: 'FP32', data: tensor(1) }] }),
      ),
      'tiny',
      400,
      /shape/,
    ],
    ['unknown model', jsonBody(1), 'nope', 404, /nope/],
    ['not JSON', Buffer.from('{"inputs": ['), 'tiny', 400, /not valid JSON/],
    ['an empty body', Buffer.alloc(0), 'tiny', 400, /empty/],
  ];
  for (const [what, body, model, status, message] of errors) {
    it(`${what}, with no Content-Type → ${status} {"error": "..."}`, async () => {
      const r = await infer(body, {}, model);
      assert.equal(r.status, status, r.body.toString());
      assert.deepEqual(Object.keys(parse(r)), ['error']);
      assert.match(parse(r).error, message);
      assert.equal(typeof r.headers['x-request-id'], 'string');
    });
  }

  it('other routes keep their content types, and decode encoded bodies too', async () => {
    const pdf = await send(srv.url, 'POST', '/predict', Buffer.from('%PDF-1.4'), { 'Content-Type': 'application/pdf' });
    assert.equal(pdf.status, 415);
    assert.equal(parse(pdf).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const png = fixture('dog-160x120.png');
    const gz = await send(srv.url, 'POST', '/predict?model=tiny', zlib.gzipSync(png), {
      'Content-Type': 'image/png',
      'Content-Encoding': 'gzip',
    });
    assert.equal(gz.status, 200, gz.body.toString());
    assert.deepEqual(parse(gz).image, { format: 'png', width: 160, height: 120 });
    const bomb = await send(srv.url, 'POST', '/predict', zlib.gzipSync(Buffer.alloc(8 * MiB)), {
      'Content-Type': 'image/png',
      'Content-Encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    assert.equal(parse(bomb).error.code, 'PAYLOAD_TOO_LARGE');
  });
});

// tritonclient.http's load_model/unload_model, byte for byte: POST with no Content-Type, body
// json.dumps({}) or {"parameters": {"config": …}}, unload always with unload_dependents.
describe("Triton's HTTP client: load_model / unload_model", () => {
  let srv: TestServer;
  let polling: TestServer;
  const store = tempDir('loupe-triton-control-');

  before(async () => {
    writeStoreModel(store, { name: 'tiny', channels: 1, height: 2, width: 2, classes: 3, resize: 'stretch' });
    writeStoreModel(store, { name: 'other', channels: 1, height: 2, width: 2, classes: 3, resize: 'stretch' });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'tiny', LOUPE_MODEL_CONTROL: 'explicit' });
    polling = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'tiny' });
  });
  after(async () => {
    await srv?.stop();
    await polling?.stop();
  });

  const unloadBody = Buffer.from(JSON.stringify({ parameters: { unload_dependents: false } }));
  const ready = async (base: string, model: string) => (await send(base, 'GET', `/v2/models/${model}/ready`)).status;

  it('load_model, load_model(config=…) and unload_model answer 200 {} and change what is ready', async () => {
    assert.equal(await ready(srv.url, 'other'), 404, 'explicit mode starts with the default model only');
    const load = await send(srv.url, 'POST', '/v2/repository/models/other/load', Buffer.from('{}'));
    assert.equal(load.status, 200, load.body.toString());
    assert.deepEqual(parse(load), {});
    assert.equal(await ready(srv.url, 'other'), 200);
    const config = JSON.stringify({ max_batch_size: 5 });
    const body = Buffer.from(JSON.stringify({ parameters: { config } }));
    assert.equal((await send(srv.url, 'POST', '/v2/repository/models/other/load', body)).status, 200);
    assert.equal(parse(await send(srv.url, 'GET', '/v2/models/other/config')).max_batch_size, 5);
    const unload = await send(srv.url, 'POST', '/v2/repository/models/other/unload', unloadBody);
    assert.equal(unload.status, 200, unload.body.toString());
    assert.deepEqual(parse(unload), {});
    assert.equal(await ready(srv.url, 'other'), 404);
  });

  it('a polling server refuses them with 400 and a JSON error naming LOUPE_MODEL_CONTROL', async () => {
    const r = await send(polling.url, 'POST', '/v2/repository/models/other/unload', unloadBody);
    assert.equal(r.status, 400);
    assert.match(parse(r).error, /explicit model unload is not allowed: LOUPE_MODEL_CONTROL is poll/);
    assert.equal(await ready(polling.url, 'other'), 200);
  });
});
