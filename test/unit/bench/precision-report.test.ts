import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { precisionMarkdown } from '../../../bench/lib/precision-report.ts';
import type { PrecisionModel, PrecisionRun } from '../../../bench/lib/precision.ts';
import { pairedRatio, spread } from '../../../bench/lib/rounds.ts';

describe('bench: the fp32-vs-int8 table', () => {
  const run = (round: number, c1: number, high: number): PrecisionRun => ({
    round,
    c1: { throughput: c1, p50: 10 },
    high: { throughput: high, p50: 100, meanBatch: 4, errors: 0 },
    idleRssMb: 100,
    peakRssMb: 200,
    raw: { 1: c1 },
  });
  const s = (xs: number[]) => spread(xs);
  const model: PrecisionModel = {
    model: 'resnet18',
    bytes: { fp32: 46_800_000, int8: 11_700_000 },
    runs: {
      fp32: [run(0, 20, 50), run(1, 10, 40), run(2, 20, 60)],
      int8: [run(0, 30, 90), run(1, 20, 80), run(2, 30, 70)],
    },
    agreement: { images: 32, same: 30 },
    summary: {
      c1: { fp32: s([20, 10, 20]), int8: s([30, 20, 30]) },
      high: { fp32: s([50, 40, 60]), int8: s([90, 80, 70]) },
      p50_c1: { fp32: s([10]), int8: s([10]) },
      p50_high: { fp32: s([100]), int8: s([100]) },
      peak_rss_mb: { fp32: s([200]), int8: s([200]) },
      raw: { fp32: { 1: s([20]) }, int8: { 1: s([30]) } },
      speedup_c1: pairedRatio([20, 10, 20], [30, 20, 30]),
      speedup_high: pairedRatio([50, 40, 60], [90, 80, 70]),
      speedup_raw: { 1: pairedRatio([20, 10, 20], [30, 20, 30]) },
    },
  };
  it('shows medians with their spread, the paired ratio and the goal verdict', () => {
    const md = precisionMarkdown([model], { title: '### t', high: 16, goal: 1.6 });
    assert.match(md, /\| resnet18 \| fp32 \| 46\.8 MB \| 20\.0 \(10\.0–20\.0\) \| 50\.0 \(40\.0–60\.0\) \|/);
    // Rounds 90/50, 80/40, 70/60: median 1.8, range 1.17–2.00; the goal is met by the median only.
    assert.match(md, /\*\*1\.80× \(1\.17–2\.00\)\*\*/);
    assert.match(md, /goal ≥ 1\.6× met \(not every round\)/);
    assert.match(md, /\| 30\/32 \|/);
    assert.match(md, /bare ONNX Runtime int8 \/ fp32: batch 1 1\.50× \(1\.50–2\.00\)/);
  });
});
