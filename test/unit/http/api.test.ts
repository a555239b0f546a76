import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../../src/http/index.ts';
import { PNG_1x1, multipart, stubApp } from '../../helpers/app.ts';
import { StubBackend, stubModel } from '../../helpers/stub-backend.ts';

// The public API's input errors, request ids and description over a stub backend with the
// catalog test/e2e/api.test.ts loads for real (digits/1 the default, colors/1 and colors/2).
// What needs the real decoder or model (formats, truncated and hostile images, scores,
// inference metrics) stays there.

type Injected = Awaited<ReturnType<App['inject']>>;
const classes = (n: number) => Array.from({ length: n }, (_, i) => `class-${i}`);

describe('HTTP API over a stub backend', () => {
  let app: App;
  before(async () => {
    const backend = new StubBackend(
      [
        stubModel('digits', '1', classes(10)),
        stubModel('colors', '1', classes(5)),
        stubModel('colors', '2', classes(5)),
      ],
      'digits',
    );
    ({ app } = await stubApp(
      { LOUPE_DEFAULT_MODEL: 'digits', LOUPE_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) },
      { backend },
    ));
  });
  after(() => app.close());

  const predict = (payload: Buffer | string | undefined, query = '', headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/predict${query}`, headers, ...(payload === undefined ? {} : { payload }) });
  const upload = (file: Buffer, query = '', fields: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/predict${query}`, ...multipart(file, fields) });
  const fieldNamed = (name: string, file: Buffer) => {
    const { payload, headers } = multipart(file);
    return {
      payload: Buffer.from(payload.toString('latin1').replace('name="file"', `name="${name}"`), 'latin1'),
      headers,
    };
  };

  // Each bad input gets its JSON error, and the very next good request still succeeds.
  const bad: Array<[string, () => Promise<Injected>, number, string]> = [
    ['empty body', () => predict(undefined), 400, 'EMPTY_BODY'],
    ['empty raw image', () => predict(Buffer.alloc(0), '', { 'content-type': 'image/png' }), 400, 'EMPTY_BODY'],
    [
      'missing file field',
      () => app.inject({ method: 'POST', url: '/predict', ...fieldNamed('image', PNG_1x1) }),
      400,
      'MISSING_FILE',
    ],
    ['empty file', () => upload(Buffer.alloc(0)), 400, 'EMPTY_BODY'],
    [
      'JSON body',
      () => predict(JSON.stringify({ image: 'x' }), '', { 'content-type': 'application/json' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['upload over the limit (multipart)', () => upload(Buffer.alloc(3 * 1024 * 1024, 1)), 413, 'PAYLOAD_TOO_LARGE'],
    [
      'upload over the limit (raw)',
      () => predict(Buffer.alloc(3 * 1024 * 1024, 1), '', { 'content-type': 'image/jpeg' }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['unknown model', () => upload(PNG_1x1, '?model=nope'), 404, 'MODEL_NOT_FOUND'],
    ['unknown version', () => upload(PNG_1x1, '?model=colors&version=9'), 404, 'MODEL_NOT_FOUND'],
    ['top_k 0', () => upload(PNG_1x1, '?top_k=0'), 400, 'BAD_REQUEST'],
    ['top_k above the class count', () => upload(PNG_1x1, '?model=colors&top_k=6'), 400, 'BAD_REQUEST'],
    ['top_k not a number', () => upload(PNG_1x1, '?top_k=many'), 400, 'BAD_REQUEST'],
  ];
  for (const [name, send, status, code] of bad) {
    it(`bad input: ${name} → ${status} ${code}, then a good request works`, async () => {
      const res = await send();
      const body = res.json();
      assert.equal(res.statusCode, status, res.body);
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(body.error.request_id, res.headers['x-request-id']);
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const ok = await upload(PNG_1x1, '?model=colors');
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json().model, { name: 'colors', version: '2' });
    });
  }

  it('keeps a sane client request id and replaces a hostile one', async () => {
    const r1 = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(r1.statusCode, 404);
    assert.equal(r1.json().error.request_id, 'trace-abc.123');
    const r2 = await app.inject({
      method: 'GET',
      url: '/livez',
      headers: { 'x-request-id': 'bad id with spaces <script>' },
    });
    assert.match(String(r2.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('GET /docs serves Swagger UI and /openapi.json documents every route with examples', async () => {
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
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
