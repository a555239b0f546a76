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

  // Each bad input gets its JSON error, and the very next good request still succeeds.
  const bad: Array<[string, () => Promise<Response>, number, string]> = [
    ['empty body', () => fetch(`${srv.url}/predict`, { method: 'POST' }), 400, 'EMPTY_BODY'],
    ['empty raw image', () => predict(new Uint8Array(0), '', { 'content-type': 'image/png' }), 400, 'EMPTY_BODY'],
    [
      'missing file field',
      () => {
        const f = new FormData();
        f.append('image', new Blob([fixture('dog-160x120.jpg')]));
        return predict(f);
      },
      400,
      'MISSING_FILE',
    ],
    ['empty file', () => predict(form(new Uint8Array(0))), 400, 'EMPTY_BODY'],
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
      'JSON body',
      () => predict(JSON.stringify({ image: 'x' }), '', { 'content-type': 'application/json' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'upload over the limit (multipart)',
      () => predict(form(Buffer.alloc(3 * 1024 * 1024, 1))),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'upload over the limit (raw)',
      () => predict(Buffer.alloc(3 * 1024 * 1024, 1), '', { 'content-type': 'image/jpeg' }),
      413,
      'PAYLOAD_TOO_LARGE',
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
    ['unknown model', () => predict(form(fixture('dog-160x120.jpg')), '?model=nope'), 404, 'MODEL_NOT_FOUND'],
    [
      'unknown version',
      () => predict(form(fixture('dog-160x120.jpg')), '?model=colors&version=9'),
      404,
      'MODEL_NOT_FOUND',
    ],
    ['top_k 0', () => predict(form(fixture('dog-160x120.jpg')), '?top_k=0'), 400, 'BAD_REQUEST'],
    [
      'top_k above the class count',
      () => predict(form(fixture('dog-160x120.jpg')), '?model=colors&top_k=6'),
      400,
      'BAD_REQUEST',
    ],
    ['top_k not a number', () => predict(form(fixture('dog-160x120.jpg')), '?top_k=many'), 400, 'BAD_REQUEST'],
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

  it('keeps a sane client request id and replaces a hostile one', async () => {
    const r1 = await fetch(`${srv.url}/nope`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(r1.status, 404);
    assert.equal((await json(r1)).error.request_id, 'trace-abc.123');
    const r2 = await fetch(`${srv.url}/livez`, { headers: { 'x-request-id': 'bad id with spaces <script>' } });
    assert.match(r2.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
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
    assert.match(text, /loupe_batch_size_bucket/);
    assert.match(text, /process_resident_memory_bytes/);
  });

  it('GET /docs serves Swagger UI and /openapi.json documents every route with examples', async () => {
    const ui = await fetch(`${srv.url}/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
    const doc = await json(await fetch(`${srv.url}/openapi.json`));
    assert.equal(doc.openapi, '3.1.0');
    for (const p of [
      '/predict',
      '/models',
      '/models/{name}',
      '/livez',
      '/readyz',
      '/metrics',
      '/v2',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/{model}',
      '/v2/models/{model}/versions/{version}',
      '/v2/models/{model}/ready',
      '/v2/models/{model}/infer',
      '/v2/models/{model}/versions/{version}/infer',
      '/v2/models/{model}/config',
      '/v2/models/{model}/versions/{version}/config',
      '/v2/models/stats',
      '/v2/models/{model}/stats',
      '/v2/models/{model}/versions/{version}/stats',
      '/v2/repository/index',
    ]) {
      assert.ok(doc.paths[p], `OpenAPI lacks ${p}`);
    }
    const predictOp = doc.paths['/predict'].post;
    assert.ok(predictOp.requestBody.content['multipart/form-data'].schema.properties.file);
    assert.ok(predictOp.requestBody.content['image/jpeg']);
    const ok = predictOp.responses['200'].content['application/json'];
    assert.ok(ok.example ?? ok.examples, 'the 200 response has an example');
    assert.ok(predictOp.responses['413']);
    const infer = doc.paths['/v2/models/{model}/infer'].post.requestBody.content['application/json'];
    assert.ok(infer.examples ?? infer.example ?? infer.schema.examples, 'the infer request has examples');
  });
});
