import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher, type BatcherOptions } from '../../../src/inference/local/index.ts';
import { LoupeError } from '../../../src/errors.ts';

/** A batcher whose "model" doubles its input and records the batch sizes it saw. */
function make(opts: Partial<BatcherOptions> & { runMs?: number } = {}) {
  const sizes: number[] = [];
  const b = new Batcher({
    maxBatchSize: 8,
    maxQueueDelayMs: 5,
    maxQueueSize: 100,
    itemSize: 2,
    retryAfterS: 1,
    run: async (batch, n) => {
      sizes.push(n);
      await sleep(opts.runMs ?? 5);
      return Array.from({ length: n }, (_, i) => batch.slice(i * 2, i * 2 + 2).map((x) => x * 2));
    },
    ...opts,
  });
  return { b, sizes };
}

describe('Batcher', () => {
  it('runs requests that arrive together as one batch, each getting its own row', async () => {
    const { b, sizes } = make();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => b.submit(Float32Array.of(i, -i))));
    assert.deepEqual(sizes, [8]);
    results.forEach((r, i) => {
      assert.deepEqual([...r.output], [2 * i, -2 * i]);
      assert.equal(r.batchSize, 8);
    });
  });

  it('splits at max_batch_size and keeps order', async () => {
    const { b, sizes } = make({ maxBatchSize: 4 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(Float32Array.of(i, i))));
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.deepEqual(
      results.map((r) => r.output[0]),
      [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
    );
  });

  it('does not hold a lone request longer than max_queue_delay_ms', async () => {
    const { b } = make({ maxQueueDelayMs: 20, runMs: 0 });
    const r = await b.submit(Float32Array.of(1, 1));
    assert.ok(r.queueMs >= 15 && r.queueMs < 200, `queued ${r.queueMs} ms`);
    const { b: b0 } = make({ maxQueueDelayMs: 0, runMs: 0 });
    const r0 = await b0.submit(Float32Array.of(1, 1));
    assert.ok(r0.queueMs < 15, `queued ${r0.queueMs} ms with no delay configured`);
  });

  it('refuses with OVERLOADED and Retry-After when the queue is full, then recovers', async () => {
    let rejected = 0;
    const { b } = make({ maxBatchSize: 2, maxQueueSize: 4, runMs: 30, retryAfterS: 3, onReject: () => rejected++ });
    const accepted = Array.from({ length: 6 }, () => b.submit(Float32Array.of(1, 1)));
    await sleep(10); // first batch of 2 is running, 4 wait
    await assert.rejects(
      b.submit(Float32Array.of(1, 1)),
      (err: unknown) => err instanceof LoupeError && err.code === 'OVERLOADED' && err.retryAfterS === 3,
    );
    assert.equal(rejected, 1);
    await Promise.all(accepted);
    const again = await b.submit(Float32Array.of(3, 3));
    assert.deepEqual([...again.output], [6, 6]);
  });

  it('admission counts requests still decoding against the bound, and releases once', async () => {
    const { b } = make({ maxBatchSize: 1, maxQueueSize: 2, runMs: 30 });
    const r1 = b.admit();
    const r2 = b.admit();
    assert.throws(
      () => b.admit(),
      (err: unknown) => err instanceof LoupeError && err.code === 'OVERLOADED',
    );
    r1();
    r1(); // idempotent
    const r3 = b.admit();
    const done = [b.submit(Float32Array.of(1, 1), r2), b.submit(Float32Array.of(2, 2), r3)];
    assert.equal((await Promise.all(done)).length, 2);
    b.admit()();
  });

  it('rejects every item of a failed batch and keeps serving', async () => {
    let fail = true;
    const b = new Batcher({
      maxBatchSize: 4,
      maxQueueDelayMs: 1,
      maxQueueSize: 10,
      itemSize: 1,
      retryAfterS: 1,
      run: async (batch, n) => {
        if (fail) throw new Error('boom');
        return Array.from({ length: n }, (_, i) => batch.slice(i, i + 1));
      },
    });
    const r = await Promise.allSettled([b.submit(Float32Array.of(1)), b.submit(Float32Array.of(2))]);
    assert.deepEqual(
      r.map((x) => x.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    assert.deepEqual([...(await b.submit(Float32Array.of(5))).output], [5]);
  });

  it('refuses wrong-sized items, drains on close and is closed afterwards', async () => {
    const { b } = make();
    await assert.rejects(b.submit(Float32Array.of(1, 2, 3)), /takes 2/);
    const pending = [b.submit(Float32Array.of(1, 1)), b.submit(Float32Array.of(2, 2))];
    await b.close();
    assert.equal((await Promise.all(pending)).length, 2);
    assert.equal(b.state, 'closed');
    await assert.rejects(b.submit(Float32Array.of(1, 1)), /shutting down/);
    await b.close();
  });

  it('close waits for requests admitted before it (still decoding) and runs them; new ones are refused', async () => {
    const { b, sizes } = make();
    const admitted = b.admit(); // resolved the model, now decoding its upload
    let closed = false;
    const closing = b.close().then(() => (closed = true));
    await sleep(20);
    assert.equal(closed, false, 'close waits for the admitted request');
    assert.throws(() => b.admit(), /shutting down/);
    await assert.rejects(b.submit(Float32Array.of(9, 9)), /shutting down/);
    const r = await b.submit(Float32Array.of(3, 4), admitted);
    assert.deepEqual([...r.output], [6, 8]);
    await closing;
    assert.deepEqual(sizes, [1]);
    // An admitted request that gives up (its image failed to decode) lets close end too.
    const c = make().b;
    const release = c.admit();
    const done = c.close();
    release();
    await done;
    assert.equal(c.state, 'closed');
  });
});
