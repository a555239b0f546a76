import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { scrape, sum } from '../helpers/metrics.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('dynamic batching and backpressure over HTTP', () => {
  let srv: TestServer;
  const store = tempDir('loupe-batch-');
  const images = ['dog-160x120.jpg', 'dog-160x120.png', 'dog-orient6.jpg', 'dog-rgba.png', 'gray-40x30.png'].map((f) =>
    fixture(f),
  );

  before(async () => {
    writeStoreModel(store, {
      name: 'm',
      channels: 3,
      height: 32,
      width: 32,
      classes: 5,
      resizeShorter: 36,
      // A queue shorter than a batch: one request of max_batch_size items can overfill it.
      batching: { max_batch_size: 64, max_queue_delay_ms: 25, max_queue_size: 24 },
    });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'm', LOUPE_RETRY_AFTER_S: '2' });
  });
  after(() => srv.stop());

  const predict = async (img: Uint8Array) =>
    json(await fetch(`${srv.url}/predict?top_k=5`, { method: 'POST', body: form(img) }));

  it('concurrent requests run in fewer ONNX Runtime calls, with the same results as one by one', async () => {
    const alone: Awaited<ReturnType<typeof predict>>[] = [];
    for (const img of images) alone.push(await predict(img));
    const before = await (await fetch(`${srv.url}/metrics`)).text();
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => predict(images[i % images.length]!)));
    const afterText = await (await fetch(`${srv.url}/metrics`)).text();
    const runs = metric(afterText, 'loupe_batch_size_count{') - metric(before, 'loupe_batch_size_count{');
    const items = metric(afterText, 'loupe_batch_size_sum{') - metric(before, 'loupe_batch_size_sum{');
    assert.equal(items, 20);
    assert.ok(runs < 20 / 2, `20 requests took ${runs} session runs`);
    together.forEach((r, i) => {
      const ref = alone[i % images.length];
      assert.deepEqual(
        r.predictions.map((p: { index: number }) => p.index),
        ref.predictions.map((p: { index: number }) => p.index),
      );
      r.predictions.forEach((p: { score: number }, j: number) =>
        assert.ok(Math.abs(p.score - ref.predictions[j].score) < 1e-6),
      );
    });
    assert.ok(together.some((r) => r.timings_ms.queue > 0));
  });

  it('a full queue answers 503 with Retry-After at once, and the server recovers', async () => {
    // One OIP request of 60 items (within max_batch_size) overfills the 24-slot queue deterministically.
    const n = 60;
    const res = await fetch(`${srv.url}/v2/models/m/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'input', shape: [n, 3, 32, 32], datatype: 'FP32', data: new Array(n * 3 * 32 * 32).fill(0.5) },
        ],
      }),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.match((await json(res)).error, /queue .* full/);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    assert.ok(metric(text, 'loupe_rejected_total{') >= 1);
    // The refused request's admitted items still run; once they have, the queue has room again.
    let ok = await fetch(`${srv.url}/predict`, { method: 'POST', body: form(images[0]!) });
    for (let i = 0; i < 30 && ok.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ok = await fetch(`${srv.url}/predict`, { method: 'POST', body: form(images[0]!) });
    }
    assert.equal(ok.status, 200);
    const readyz = await fetch(`${srv.url}/readyz`);
    assert.equal(readyz.status, 200);
  });

  it('a full queue is counted once per refused request, on each transport: queue_full', async () => {
    const n = 60;
    const refused = (transport: 'http' | 'grpc', m: Awaited<ReturnType<typeof scrape>>) =>
      sum(m, 'loupe_admission_refusals_total', { transport, reason: 'queue_full' });
    const before = await scrape(srv.url);
    const res = await fetch(`${srv.url}/v2/models/m/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'input', shape: [n, 3, 32, 32], datatype: 'FP32', data: new Array(n * 3 * 32 * 32).fill(0.5) },
        ],
      }),
    });
    assert.equal(res.status, 503);
    // Let the admitted items of the refused request run, so the gRPC call meets a queue as full.
    await new Promise((r) => setTimeout(r, 500));
    const client = grpcClient(srv.role.grpcAddress);
    try {
      const g = await client.call('ModelInfer', {
        model_name: 'm',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [n, 3, 32, 32] }],
        raw_input_contents: [Buffer.alloc(n * 3 * 32 * 32 * 4)],
      });
      assert.equal(g.error?.code, grpc.status.UNAVAILABLE, g.error?.details);
    } finally {
      client.close();
    }
    const after = await scrape(srv.url);
    assert.equal(refused('http', after) - refused('http', before), 1);
    assert.equal(refused('grpc', after) - refused('grpc', before), 1);
  });
});
