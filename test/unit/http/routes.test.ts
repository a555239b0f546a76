import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import type { App } from '../../../src/http/index.ts';
import { PNG_1x1, multipart, stubApp, stubKeys } from '../../helpers/app.ts';

// The public HTTP API's routes, errors, limits and auth over a stub backend (test/helpers/app.ts):
// no ONNX Runtime, no database, no socket. The real model's answers are test/e2e's.

const png = { 'content-type': 'image/png' };
type Req = { url: string; headers: Record<string, string>; payload: string | Buffer };

describe('HTTP routes over a stub backend', () => {
  const apps: App[] = [];
  after(() => Promise.all(apps.map((a) => a.close())));
  const make = async (...args: Parameters<typeof stubApp>) => {
    const made = await stubApp(...args);
    apps.push(made.app);
    return made;
  };

  it('POST /predict: the default model, its latest version, and top_k as the catalog rules say', async () => {
    const { app, backend } = await make();
    const r = await app.inject({ method: 'POST', url: '/predict', headers: png, payload: PNG_1x1 });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.deepEqual(body.model, { name: 'stub', version: '2' });
    assert.deepEqual(
      body.predictions.map((p: { label: string }) => p.label),
      ['cat', 'dog', 'fox'],
    );
    assert.equal(backend.calls[0]?.model, undefined, 'the route passes "no model" on; the backend picks the default');

    const v1 = await app.inject({ method: 'POST', url: '/predict?version=1&top_k=1', headers: png, payload: PNG_1x1 });
    assert.equal(v1.statusCode, 200, v1.body);
    assert.deepEqual(v1.json().model, { name: 'stub', version: '1' });
    assert.equal(v1.json().predictions.length, 1);

    const multi = multipart(PNG_1x1, { metadata: '{"camera":"a"}' });
    const m = await app.inject({ method: 'POST', url: '/predict?top_k=2', ...multi });
    assert.equal(m.statusCode, 200, m.body);
    assert.equal(m.json().predictions.length, 2);
  });

  it('client errors are 4xx JSON with a code, a message and the request id', async () => {
    const { app } = await make();
    const cases: Array<[string, Req, number, ErrorCode]> = [
      ['unknown model', { url: '/predict?model=nope', headers: png, payload: PNG_1x1 }, 404, ErrorCode.ModelNotFound],
      ['unknown version', { url: '/predict?version=9', headers: png, payload: PNG_1x1 }, 404, ErrorCode.ModelNotFound],
      [
        'top_k above the classes',
        { url: '/predict?top_k=4', headers: png, payload: PNG_1x1 },
        400,
        ErrorCode.BadRequest,
      ],
      ['an empty body', { url: '/predict', headers: png, payload: Buffer.alloc(0) }, 400, ErrorCode.EmptyBody],
      [
        'text',
        { url: '/predict', headers: { 'content-type': 'text/plain' }, payload: 'hi' },
        415,
        ErrorCode.UnsupportedMediaType,
      ],
      [
        'multipart without a file',
        { url: '/predict', ...multipart(undefined, { top_k: '1' }) },
        400,
        ErrorCode.MissingFile,
      ],
    ];
    for (const [what, req, status, code] of cases) {
      const r = await app.inject({
        method: 'POST',
        ...req,
        headers: { ...req.headers, 'x-request-id': `t-${status}` },
      });
      assert.equal(r.statusCode, status, `${what}: ${r.body}`);
      const { error } = r.json();
      assert.equal(error.code, code, what);
      assert.equal(error.request_id, `t-${status}`, what);
      assert.equal(r.headers['x-request-id'], `t-${status}`, what);
      assert.ok(typeof error.message === 'string' && error.message.length > 0, what);
    }
    const missing = await app.inject({ method: 'GET', url: '/no/such/route' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, ErrorCode.NotFound);
  });

  it('a backend crash is a 500 whose text is masked; an overload is a 503 with Retry-After', async () => {
    const { app, backend } = await make();
    backend.fail = new Error('secret internals: /var/lib/loupe/model.onnx exploded');
    const crash = await app.inject({ method: 'POST', url: '/predict', headers: png, payload: PNG_1x1 });
    assert.equal(crash.statusCode, 500);
    assert.equal(crash.json().error.code, ErrorCode.Internal);
    assert.ok(!crash.body.includes('secret internals'), crash.body);
    assert.ok(crash.json().error.request_id);

    backend.fail = new LoupeError(ErrorCode.Overloaded, 'the queue is full', { retryAfterS: 7 });
    const busy = await app.inject({ method: 'POST', url: '/predict', headers: png, payload: PNG_1x1 });
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.headers['retry-after'], '7');
    assert.equal(busy.json().error.code, ErrorCode.Overloaded);
  });

  it('keys: 401 without one, 403 outside its scope, through with it; health stays open', async () => {
    const auth = stubKeys({ 'lp-predict': ['predict'], 'lp-read': ['read'] });
    const { app } = await make({}, { auth });
    const bare = await app.inject({ method: 'POST', url: '/predict', headers: png, payload: PNG_1x1 });
    assert.equal(bare.statusCode, 401);
    assert.match(String(bare.headers['www-authenticate']), /^Bearer realm="loupe"/);
    const reader = await app.inject({
      method: 'POST',
      url: '/predict',
      headers: { ...png, authorization: 'Bearer lp-read' },
      payload: PNG_1x1,
    });
    assert.equal(reader.statusCode, 403, reader.body);
    assert.equal(reader.json().error.code, ErrorCode.Forbidden);
    const ok = await app.inject({
      method: 'POST',
      url: '/predict',
      headers: { ...png, 'x-api-key': 'lp-predict' },
      payload: PNG_1x1,
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await app.inject({ method: 'GET', url: '/livez' })).statusCode, 200);
  });

  it('per-client rate: past the limit a 429 with Retry-After, counted per client', async () => {
    const { app } = await make({ LOUPE_RATE_LIMIT_PER_MINUTE: '2' }, {}, { clientLimits: true });
    const send = (ip: string) =>
      app.inject({ method: 'POST', url: '/predict', headers: png, payload: PNG_1x1, remoteAddress: ip });
    assert.equal((await send('127.0.0.2')).statusCode, 200);
    assert.equal((await send('127.0.0.2')).statusCode, 200);
    const third = await send('127.0.0.2');
    assert.equal(third.statusCode, 429, third.body);
    assert.ok(Number(third.headers['retry-after']) >= 1);
    assert.equal((await send('127.0.0.3')).statusCode, 200, 'another client has its own allowance');
  });

  it('GET /models and the OIP metadata describe the catalog', async () => {
    const { app } = await make();
    const list = await app.inject({ method: 'GET', url: '/models' });
    assert.equal(list.statusCode, 200, list.body);
    const meta = await app.inject({ method: 'GET', url: '/v2/models/stub' });
    assert.equal(meta.statusCode, 200, meta.body);
    assert.deepEqual(meta.json().versions, ['1', '2']);
    const gone = await app.inject({ method: 'GET', url: '/v2/models/nope' });
    assert.equal(gone.statusCode, 404);
    assert.equal(typeof gone.json().error, 'string', 'OIP error bodies are {"error": "..."}');
  });
});
