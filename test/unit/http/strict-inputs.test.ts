import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { App } from '../../../src/http/index.ts';
import { PNG_1x1, multipart, stubApp } from '../../helpers/app.ts';
import { stubGrpc } from '../../helpers/grpc-app.ts';

// What a client sends is read strictly and echoed safely, the same way over HTTP and gRPC:
// numeric query parameters, OIP classification counts, datatypes and user-supplied names.
// Over a stub backend (its catalog and OIP codec are the real shared ones); `limit` on the
// history and POST /jobs need a database and stay in test/e2e/api.test.ts.

const K = 3; // the stub model's classes

describe('strict inputs on both transports', () => {
  let app: App;
  let grpcApi: Awaited<ReturnType<typeof stubGrpc>>;
  before(async () => {
    ({ app } = await stubApp());
    grpcApi = await stubGrpc();
  });
  after(async () => {
    await app.close();
    await grpcApi.stop();
  });

  const httpError = async (r: Awaited<ReturnType<App['inject']>>) => {
    const body = r.json();
    return { status: r.statusCode, message: (body.error?.message ?? body.error) as string };
  };
  const infer = (model: string, body: object) =>
    app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
  const predict = (query: string) => app.inject({ method: 'POST', url: `/predict?${query}`, ...multipart(PNG_1x1) });
  const imageInput = { name: 'image', shape: [1], datatype: 'BYTES', data: [PNG_1x1.toString('base64')] };
  const grpcImage = { name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [PNG_1x1] } };

  it('top_k: decimal digits only, given once, no brackets (400 naming the parameter)', async () => {
    for (const q of [
      'top_k=0x3',
      'top_k=%201',
      'top_k=1e0',
      'top_k=3%20',
      'top_k[]=3',
      'top_k=2&top_k=3',
      'top_k=-1',
    ]) {
      const r = await httpError(await predict(q));
      assert.equal(r.status, 400, q);
      assert.match(r.message, /top_k/, `${q}: ${r.message}`);
    }
    // What the client sent is quoted escaped: no raw line separator or bidi override reaches a log.
    const odd = await httpError(await predict('top_k=3%E2%80%A8%E2%80%AE'));
    assert.ok(odd.message.includes('"3\\u2028\\u202e"'), odd.message);
    const oddName = await httpError(await predict('a%E2%80%A8[]=1'));
    assert.ok(oddName.message.includes('"a\\u2028[]"'), oddName.message);
    const ok = await predict('top_k=02');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().predictions.length, 2);
  });

  it('a classification count above the class count: 400 and INVALID_ARGUMENT, same message', async () => {
    const h = await httpError(
      await infer('stub', { inputs: [imageInput], outputs: [{ name: 'scores', parameters: { classification: 99 } }] }),
    );
    const g = await grpcApi.client.call('ModelInfer', {
      model_name: 'stub',
      inputs: [grpcImage],
      outputs: [{ name: 'scores', parameters: { classification: { int64_param: 99 } } }],
    });
    assert.equal(h.status, 400);
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    const expected = `parameters.classification must be an integer from 1 to ${K} (the model's class count), got 99`;
    assert.equal(h.message, expected);
    assert.match(g.error!.details, new RegExp(`^${expected.replace(/[()]/g, '\\$&')} \\(request id `));
    // In range, both answer: the check is a rule, not a refusal of everything.
    const fine = await infer('stub', {
      inputs: [imageInput],
      outputs: [{ name: 'scores', parameters: { classification: K } }],
    });
    assert.equal(fine.statusCode, 200, fine.body);
    assert.equal(fine.json().outputs[0].data.length, K);
  });

  it('an empty datatype is named as such: 400 and INVALID_ARGUMENT, same message', async () => {
    const h = await httpError(await infer('stub', { inputs: [{ ...imageInput, datatype: '' }] }));
    const g = await grpcApi.client.call('ModelInfer', {
      model_name: 'stub',
      inputs: [{ ...grpcImage, datatype: '' }],
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
    const longGrpc = await grpcApi.client.call('ModelInfer', { model_name: evil, inputs: [] });
    assert.equal(longGrpc.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(longGrpc.error!.details, /^a model name or version is over 128 characters \(request id /);

    const g = await grpcApi.client.call('ModelInfer', { model_name: evil.slice(0, 128), inputs: [grpcImage] });
    const p = await httpError(await predict(`model=${encodeURIComponent(evil.slice(0, 100))}`));
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
