import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { registerTritonMetrics, type ModelStatisticsView } from '../../../src/observability/index.ts';
import { parseExposition, sum } from '../../helpers/metrics.ts';

const exposition = async (registry: Registry) => parseExposition(await registry.metrics());

const stat = (name: string, version: string, n: number): ModelStatisticsView => {
  const d = (count: number, ns: number) => ({ count, ns });
  return {
    name,
    version,
    inference_count: 3 * n,
    execution_count: 2 * n,
    inference_stats: {
      success: d(n, 9_999_999),
      fail: d(1, 5),
      queue: d(n, 1_000_999),
      compute_input: d(n, 2_000),
      compute_infer: d(n, 3_000_500),
      compute_output: d(n, 999),
    },
  };
};

describe("Triton's nv_inference_* counters", () => {
  it('are counters read from the statistics at scrape time, one read per scrape, in whole microseconds', async () => {
    const registry = new Registry();
    let reads = 0;
    let stats = [stat('a', '1', 4), stat('a', '2', 7)];
    registerTritonMetrics(registry, async () => {
      reads++;
      return stats;
    });
    const text = await registry.metrics();
    assert.equal(reads, 1, 'one statistics read serves all nine counters');
    assert.match(text, /^# TYPE nv_inference_request_success counter$/m);
    const s = parseExposition(text);
    const v1 = { model: 'a', version: '1' };
    assert.equal(sum(s, 'nv_inference_request_success', v1), 4);
    assert.equal(sum(s, 'nv_inference_request_failure', v1), 1);
    assert.equal(sum(s, 'nv_inference_count', v1), 12);
    assert.equal(sum(s, 'nv_inference_exec_count', v1), 8);
    assert.equal(sum(s, 'nv_inference_request_duration_us', v1), 9999);
    assert.equal(sum(s, 'nv_inference_queue_duration_us', v1), 1000);
    assert.equal(sum(s, 'nv_inference_compute_input_duration_us', v1), 2);
    assert.equal(sum(s, 'nv_inference_compute_infer_duration_us', v1), 3000);
    assert.equal(sum(s, 'nv_inference_compute_output_duration_us', v1), 0);
    assert.equal(sum(s, 'nv_inference_request_success', { model: 'a', version: '2' }), 7);
    // Version 2 unloaded, version 1 served more: the next scrape shows exactly that.
    stats = [stat('a', '1', 5)];
    const next = await exposition(registry);
    assert.equal(sum(next, 'nv_inference_request_success', v1), 5);
    assert.equal(next.filter((x) => x.name === 'nv_inference_request_success').length, 1);
  });
});
