import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher } from '../../../src/inference/local/index.ts';
import { NOOP_TRACING, incomingTraceId, loadTracing, type TraceSpan } from '../../../src/observability/index.ts';
import { SDK_TO_NOWHERE } from '../../helpers/tracing.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('tracing off: NOOP_TRACING', () => {
  it('reads only a valid traceparent’s trace id, for the log line', () => {
    const id = (traceparent: string | undefined) => incomingTraceId({ traceparent });
    assert.equal(id(`00-${TRACE}-00f067aa0ba902b7-01`), TRACE);
    assert.equal(id(` 00-${TRACE.toUpperCase()}-00f067aa0ba902b7-00 `), TRACE);
    assert.equal(id(`01-${TRACE}-00f067aa0ba902b7-01-future`), TRACE, 'a later version may add fields');
    for (const bad of [
      undefined,
      '',
      'garbage',
      `ff-${TRACE}-00f067aa0ba902b7-01`,
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.slice(1)}-00f067aa0ba902b7-01`,
    ])
      assert.equal(id(bad), '', String(bad));
  });

  it('records and propagates nothing, runs what it is given', async () => {
    const span = NOOP_TRACING.start('x', { carrier: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } });
    assert.equal(span.traceId, TRACE);
    assert.equal(span.spanId, '');
    const carrier: Record<string, string> = {};
    NOOP_TRACING.inject(carrier);
    assert.deepEqual(carrier, {});
    assert.equal(NOOP_TRACING.active(), undefined);
    assert.equal(await NOOP_TRACING.span('y', {}, async () => 42), 42);
    assert.equal(
      NOOP_TRACING.within(span, () => 'in'),
      'in',
    );
  });
});

describe('tracing on: the SDK behind Tracing', () => {
  it('makes a span active inside within(), for children and for inject()', async () => {
    const tracing = await loadTracing(SDK_TO_NOWHERE);
    const parent = tracing.start('parent', { carrier: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } });
    assert.equal(parent.traceId, TRACE);
    assert.match(parent.spanId, /^[0-9a-f]{16}$/);
    await tracing.within(parent, async () => {
      await sleep(1); // across an await, the span stays active
      assert.equal(tracing.active(), parent);
      const carrier: Record<string, string> = {};
      tracing.inject(carrier);
      assert.equal(carrier.traceparent, `00-${TRACE}-${parent.spanId}-01`);
      await tracing.span('child', {}, async (child) => assert.equal(child.traceId, TRACE));
    });
    assert.equal(tracing.active(), undefined);
    await assert.rejects(
      tracing.span('failing', {}, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await tracing.shutdown(1000);
  });

  it('reports a failed export, which the SDK alone would only tell its diag logger', async () => {
    // A receiver that refuses (400 is not retried; one that is down is, for up to the export timeout).
    const refusing = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(400).end()));
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1/traces`;
    const errors: Error[] = [];
    const tracing = await loadTracing({ ...SDK_TO_NOWHERE, url }, (err) => errors.push(err));
    tracing.start('lost').end();
    await tracing.shutdown(5000);
    refusing.close();
    assert.equal(errors.length, 1);
  });

  it('the batcher links its run to each request in it, under the first, and times each wait', async () => {
    const tracing = await loadTracing(SDK_TO_NOWHERE);
    const started: Array<{ name: string; parent?: TraceSpan | undefined; links: readonly (TraceSpan | undefined)[] }> =
      [];
    const recording = {
      ...tracing,
      start: (name: string, o: Parameters<typeof tracing.start>[1] = {}) => {
        started.push({ name, parent: o.parent, links: o.links ?? [] });
        return tracing.start(name, o);
      },
    };
    const batcher = new Batcher({
      maxBatchSize: 8,
      maxQueueDelayMs: 5,
      maxQueueSize: 10,
      itemSize: 1,
      retryAfterS: 1,
      run: async (_batch, n) => Array.from({ length: n }, () => Float32Array.of(1)),
      tracing: recording,
      spanAttributes: { 'loupe.model': 'm' },
    });
    const requests = [0, 1, 2].map((i) => tracing.start(`request ${i}`));
    await Promise.all(requests.map((r) => tracing.within(r, () => batcher.submit(Float32Array.of(0)))));
    const batch = started.find((s) => s.name === 'loupe.batch')!;
    assert.equal(batch.parent, requests[0]);
    assert.deepEqual(batch.links, requests);
    assert.deepEqual(
      started.filter((s) => s.name === 'loupe.queue').map((s) => s.parent),
      requests,
    );
    // Nothing active, nothing to link: a submit outside any request makes no queue span.
    started.length = 0;
    await batcher.submit(Float32Array.of(0));
    assert.deepEqual(
      started.map((s) => s.name),
      ['loupe.batch'],
    );
    await tracing.shutdown(1000);
  });
});
