import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const K = 4;

// What a client sends is read strictly and echoed safely, the same way over HTTP and gRPC:
// numeric query parameters, OIP classification counts, datatypes and user-supplied names.
describe('strict inputs on both transports', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  const png = fixture('gray-40x30.png');

  before(async () => {
    const store = tempDir('loupe-strict-');
    writeStoreModel(store, { name: 'tiny', channels: 3, height: 4, width: 4, classes: K, resize: 'stretch' });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'tiny' });
    client = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    client.close();
    await srv.stop();
  });

  const httpError = async (res: Response) => {
    const body = await json(res);
    return { status: res.status, message: (body.error?.message ?? body.error) as string };
  };
  const infer = (model: string, body: object) =>
    fetch(`${srv.url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const imageInput = { name: 'image', shape: [1], datatype: 'BYTES', data: [png.toString('base64')] };

  it('top_k and limit: decimal digits only, given once, no brackets (400 naming the parameter)', async () => {
    for (const q of [
      'top_k=0x3',
      'top_k=%201',
      'top_k=1e0',
      'top_k=3%20',
      'top_k[]=3',
      'top_k=2&top_k=3',
      'top_k=-1',
    ]) {
      const r = await httpError(await fetch(`${srv.url}/predict?${q}`, { method: 'POST', body: form(png) }));
      assert.equal(r.status, 400, q);
      assert.match(r.message, /top_k/, `${q}: ${r.message}`);
    }
    for (const q of ['limit=0x3', 'limit=%2010', 'limit=10.0', 'limit[]=3']) {
      const r = await httpError(await fetch(`${srv.url}/predictions?${q}`));
      assert.equal(r.status, 400, q);
      assert.match(r.message, /limit/, `${q}: ${r.message}`);
    }
    const ok = await fetch(`${srv.url}/predict?top_k=02`, { method: 'POST', body: form(png) });
    assert.equal(ok.status, 200);
    assert.equal((await json(ok)).predictions.length, 2);
    assert.equal((await fetch(`${srv.url}/predictions?limit=3`)).status, 200);
    // The multipart field of POST /jobs follows the same rule.
    const job = await fetch(`${srv.url}/jobs`, { method: 'POST', body: form(png, 'a.png', { top_k: '0x3' }) });
    assert.equal(job.status, 400);
    assert.match((await httpError(job)).message, /top_k must be a positive whole number in decimal digits/);
  });

  it('a classification count above the class count: 400 and INVALID_ARGUMENT, same message', async () => {
    const h = await httpError(
      await infer('tiny', { inputs: [imageInput], outputs: [{ name: 'logits', parameters: { classification: 99 } }] }),
    );
    const g = await client.call('ModelInfer', {
      model_name: 'tiny',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
      outputs: [{ name: 'logits', parameters: { classification: { int64_param: 99 } } }],
    });
    assert.equal(h.status, 400);
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    const expected = `parameters.classification must be an integer from 1 to ${K} (the model's class count), got 99`;
    assert.equal(h.message, expected);
    assert.match(g.error!.details, new RegExp(`^${expected.replace(/[()]/g, '\\$&')} \\(request id `));
  });

  it('an empty datatype is named as such: 400 and INVALID_ARGUMENT, same message', async () => {
    const h = await httpError(await infer('tiny', { inputs: [{ ...imageInput, datatype: '' }] }));
    const g = await client.call('ModelInfer', {
      model_name: 'tiny',
      inputs: [{ name: 'image', datatype: '', shape: [1], contents: { bytes_contents: [png] } }],
    });
    const expected = 'input "image": datatype is missing or empty; send "FP32" tensors or "BYTES" images';
    assert.equal(h.status, 400);
    assert.equal(h.message, expected);
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.ok(g.error!.details.startsWith(expected), g.error!.details);
  });

  it('unknown model names are escaped and cut, never echoed raw', async () => {
    const evil = '\u001b[31mred\u0000\u2028fake log line' + 'x'.repeat(500);
    const h = await httpError(await infer(encodeURIComponent(evil.slice(0, 90)), { inputs: [imageInput] }));
    // Past the longest model name (128 characters), a name is refused without quoting it, on both APIs.
    const long = await httpError(await infer(encodeURIComponent(evil), { inputs: [imageInput] }));
    assert.deepEqual(long, { status: 400, message: 'a model name or version is over 128 characters' });
    const longGrpc = await client.call('ModelInfer', { model_name: evil, inputs: [] });
    assert.equal(longGrpc.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(longGrpc.error!.details, /^a model name or version is over 128 characters \(request id /);

    const g = await client.call('ModelInfer', {
      model_name: evil.slice(0, 128),
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
    });
    const p = await httpError(
      await fetch(`${srv.url}/predict?model=${encodeURIComponent(evil.slice(0, 100))}`, {
        method: 'POST',
        body: form(png),
      }),
    );
    assert.equal(h.status, 404);
    assert.equal(g.error?.code, grpc.status.NOT_FOUND);
    assert.equal(p.status, 404);
    for (const message of [h.message, g.error!.details, p.message]) {
      // eslint-disable-next-line no-control-regex -- the point: no raw control characters
      assert.doesNotMatch(message, /[\u0000-\u001f\u2028]/, JSON.stringify(message));
      assert.ok(message.includes('"\\u001b[31mred\\u0000\\u2028fake log line'), message);
      assert.ok(message.length < 200, `${message.length}: ${message}`);
    }
    assert.match(
      g.error!.details,
      /^model "\\u001b\[31mred\\u0000\\u2028fake log linex+"… \(128 characters\) is not loaded/,
    );
  });
});
