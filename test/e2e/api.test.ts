import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

// A real server over real HTTP, with real ONNX graphs: a grayscale 10-class model as the
// default and an RGB 5-class one whose logits are a known function of the channel means.
describe('HTTP API', () => {
  let srv: TestServer;
  let rgb: { weights: number[][]; bias: number[] };
  const store = tempDir('loupe-api-');

  before(async () => {
    writeStoreModel(store, {
      name: 'digits',
      channels: 1,
      height: 28,
      width: 28,
      classes: 10,
      labels: Array.from({ length: 10 }, (_, i) => `digit ${i}`),
    });
    rgb = writeStoreModel(store, {
      name: 'colors',
      channels: 3,
      height: 32,
      width: 32,
      classes: 5,
      resizeShorter: 36,
      seed: 7,
    });
    writeStoreModel(store, {
      name: 'colors',
      version: '2',
      channels: 3,
      height: 32,
      width: 32,
      classes: 5,
      resizeShorter: 36,
      seed: 8,
    });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'digits',
      LOUPE_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024),
      LOUPE_MAX_PIXELS: String(4_000_000),
    });
  });
  after(() => srv.stop());

  const predict = (body: NonNullable<RequestInit['body']>, query = '', headers: Record<string, string> = {}) =>
    fetch(`${srv.url}/predict${query}`, { method: 'POST', body, headers });

  it('POST /predict (multipart) answers with labels, scores and timings', async () => {
    const res = await predict(form(fixture('dog-160x120.jpg'), 'dog.png'), '?model=colors&version=1&top_k=3');
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(body.model, { name: 'colors', version: '1' });
    assert.equal(body.predictions.length, 3);
    assert.deepEqual(Object.keys(body.timings_ms).sort(), ['decode', 'inference', 'preprocess', 'queue', 'total']);
    assert.deepEqual(body.image, { format: 'jpeg', width: 160, height: 120 });
    const scores = body.predictions.map((p: { score: number }) => p.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
    );
    // The tiny graph is GlobalAveragePool → Gemm, so the expected winner follows from the means.
    const { data, info } = await sharp(fixture('dog-160x120.jpg'))
      .resize(48, 36)
      .extract({ left: 8, top: 2, width: 32, height: 32 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const mean = [0, 1, 2].map((c) => {
      let s = 0;
      for (let i = c; i < data.length; i += info.channels) s += data[i]!;
      return (s / (data.length / info.channels) / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!;
    });
    const logits = rgb.bias.map((b, k) => b + mean.reduce((acc, m, c) => acc + m * rgb.weights[c]![k]!, 0));
    const best = logits.indexOf(Math.max(...logits));
    assert.equal(body.predictions[0].index, best);
    assert.equal(body.predictions[0].label, `class-${best}`);
  });

  it('POST /predict with a raw image body, default model, latest version and top_k 5', async () => {
    const res = await predict(fixture('gray-40x30.png'), '', { 'content-type': 'image/png' });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.model, { name: 'digits', version: '1' });
    assert.equal(body.predictions.length, 5);
    assert.match(body.predictions[0].label, /^digit \d$/);
    const latest = await json(
      await predict(fixture('dog-160x120.png'), '?model=colors', { 'content-type': 'application/octet-stream' }),
    );
    assert.deepEqual(latest.model, { name: 'colors', version: '2' });
  });

  it('format comes from the bytes, not the filename or Content-Type', async () => {
    const res = await predict(fixture('dog-160x120.png'), '?model=colors', { 'content-type': 'image/jpeg' });
    assert.equal((await json(res)).image.format, 'png');
  });

  // Each bad image gets its JSON error, and the very next good request still succeeds. The
  // inputs a route refuses before any decoding (empty bodies, sizes, models, top_k) are
  // test/unit/http/api.test.ts's, over a stub backend.
  const bad: Array<[string, () => Promise<Response>, number, string]> = [
    ['not an image', () => predict(form(Buffer.from('%%% definitely not an image %%%'))), 422, 'INVALID_IMAGE'],
    [
      'truncated JPEG',
      () => {
        const j = fixture('dog-160x120.jpg');
        return predict(form(j.subarray(0, j.length >> 1)));
      },
      422,
      'INVALID_IMAGE',
    ],
    [
      'truncated PNG',
      () => {
        const p = fixture('dog-160x120.png');
        return predict(form(p.subarray(0, p.length >> 1)));
      },
      422,
      'INVALID_IMAGE',
    ],
    [
      'SVG',
      () =>
        predict(
          form(
            Buffer.from(
              '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
            ),
            'x.png',
          ),
        ),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'decompression bomb',
      async () =>
        predict(
          form(
            await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#888' } })
              .png({ compressionLevel: 9 })
              .toBuffer(),
          ),
        ),
      422,
      'IMAGE_TOO_LARGE',
    ],
  ];
  for (const [name, send, status, code] of bad) {
    it(`bad input: ${name} → ${status} ${code}, then a good request works`, async () => {
      const res = await send();
      const body = await json(res);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(body.error.request_id, res.headers.get('x-request-id'));
      const ok = await predict(form(fixture('dog-160x120.jpg')), '?model=colors');
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
    });
  }

  // The history and jobs need the database, so their strict numbers are checked here; the
  // rest of the strict-input rules run over a stub (test/unit/http/strict-inputs.test.ts).
  it('limit and the multipart top_k of POST /jobs: decimal digits only (400 naming the parameter)', async () => {
    for (const q of ['limit=0x3', 'limit=%2010', 'limit=10.0', 'limit[]=3']) {
      const res = await fetch(`${srv.url}/predictions?${q}`);
      const body = await json(res);
      assert.equal(res.status, 400, q);
      assert.match(body.error.message, /limit/, `${q}: ${body.error.message}`);
    }
    assert.equal((await fetch(`${srv.url}/predictions?limit=3`)).status, 200);
    const png = fixture('gray-40x30.png');
    const job = await fetch(`${srv.url}/jobs`, { method: 'POST', body: form(png, 'a.png', { top_k: '0x3' }) });
    assert.equal(job.status, 400);
    assert.match((await json(job)).error.message, /top_k must be a positive whole number in decimal digits/);
  });

  it('GET /models and /models/{name}', async () => {
    const list = await json(await fetch(`${srv.url}/models`));
    assert.deepEqual(list.models.map((m: { name: string; version: string }) => `${m.name}/${m.version}`).sort(), [
      'colors/2',
      'digits/1',
    ]);
    const colors = await json(await fetch(`${srv.url}/models/colors`));
    assert.equal(colors.version, '2');
    assert.deepEqual(colors.versions, ['1', '2']);
    assert.deepEqual(colors.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 32, 32] }]);
    assert.equal(colors.labels_count, 5);
    assert.equal(colors.labels.length, 5);
    assert.equal(colors.format, 'onnx');
    assert.equal(colors.provider, 'cpu');
    assert.equal((await json(await fetch(`${srv.url}/models/colors?version=1`))).version, '1');
    const missing = await fetch(`${srv.url}/models/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await json(missing)).error.code, 'MODEL_NOT_FOUND');
  });

  it('health: /livez and /readyz', async () => {
    assert.deepEqual(await json(await fetch(`${srv.url}/livez`)), { status: 'ok' });
    const ready = await fetch(`${srv.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = await json(ready);
    assert.equal(body.status, 'ready');
    assert.equal(body.models.length, 3);
  });

  it('GET /metrics exposes request, inference and model metrics in Prometheus format', async () => {
    const res = await fetch(`${srv.url}/metrics`);
    assert.match(res.headers.get('content-type')!, /text\/plain/);
    const text = await res.text();
    assert.match(text, /loupe_http_requests_total\{route="\/predict",method="POST",status="200"\} \d+/);
    assert.match(
      text,
      /loupe_http_request_duration_seconds_bucket\{le="0.1",route="\/predict",method="POST",status="200"\} \d+/,
    );
    assert.match(text, /loupe_inference_duration_seconds_count\{model="colors",version="1",provider="cpu"\} [1-9]/);
    // ONNX Runtime's own time is part of the round trip, never more.
    const sum = (name: string) =>
      Number(new RegExp(`^${name}_sum\\{model="colors",version="1",provider="cpu"\\} (\\S+)`, 'm').exec(text)?.[1]);
    assert.ok(sum('loupe_inference_compute_seconds') > 0);
    assert.ok(sum('loupe_inference_compute_seconds') <= sum('loupe_inference_duration_seconds'));
    assert.match(text, /loupe_models_loaded 3/);
    assert.match(text, /^loupe_model_events_total\{model="colors",version="2",event="loaded"\} 1$/m);
    assert.match(text, /loupe_batch_size_bucket/);
    assert.match(text, /process_resident_memory_bytes/);
  });
});
