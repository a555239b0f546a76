import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markdownReport, type ModelReport } from '../../../bench/lib/report.ts';
import { spread } from '../../../bench/lib/rounds.ts';

const load = (concurrency: number, throughput: number, p50: number) => ({
  concurrency,
  seconds: 8,
  requests: throughput * 8,
  throughput,
  p50,
  p99: p50 * 2,
  ok: throughput * 8,
  status503: 0,
  otherErrors: 0,
  clientCpuS: 0.1,
});
const raw = (imagesPerSecond: number) => ({ imagesPerSecond, msPerCall: 1000 / imagesPerSecond, calls: 100 });
const level = (c: number, t: number, p50: number) => ({
  ...load(c, t, p50),
  meanBatch: c === 1 ? 1 : 8,
  serverCpuS: 10,
  cpus: 2,
  ortMsPerImage: 10,
});

// One model measured in 3 rounds; the single-run fields are the median round's.
const report: ModelReport = {
  name: 'resnet18',
  version: '1',
  chw: [3, 224, 224],
  P: { ...raw(200), msSingle: 7 },
  I1: raw(80),
  If: raw(100),
  formed: 8,
  levels: [level(1, 30, 24), level(16, 60, 280)],
  phone: load(1, 20, 30),
  rssBefore: 500e6,
  rssAfter: 600e6,
  provider: 'cpu',
  rawBatches: {},
  rounds: {
    n: 3,
    B: spread([66.7, 50, 80]),
    throughput: { 1: spread([30, 25, 35]), 16: spread([60, 40, 78]) },
    // Per round, e.g. 78/80 = 97.5 %: the median is under 90 % though one round is over it.
    serverOverB: { 1: spread([0.45, 0.5, 0.44]), 16: spread([0.85, 0.8, 0.975]) },
    p50OverBound: spread([0.9, 1.1, 0.95]),
    phoneOverWeb: spread([1.2, 1.3, 1.25]),
  },
};

describe('bench report from interleaved rounds', () => {
  const md = markdownReport(
    { date: '2026-12-04T20:00:00Z', machine: 'test', node: 'v24', seconds_per_level: 8 },
    [report],
    null,
  );

  it('shows B, img/s and server / B as median (min–max) over the rounds', () => {
    assert.match(md, /\| 66\.7 \(50\.0–80\.0\) \| 1 \| 30\.0 \(25\.0–35\.0\) \|/);
    assert.match(md, /\| 16 \| 60\.0 \(40\.0–78\.0\) \| 280 \|.*\| 85% \(80%–98%\) \|/);
  });

  it('judges each goal on the median of its per-round ratio and says when a round disagreed', () => {
    assert.match(md, /3 interleaved rounds/);
    assert.match(md, /= 85% \(80%–98%\) of B ❌ missed \(not every round\) \(goal ≥ 90%\)/);
    assert.match(md, /p50 at c = 1 \/ \(raw P \+ I \+ 3 ms\) = 0\.95× \(0\.90–1\.10\) ✅ met \(not every round\)/);
    assert.match(md, /12 MP JPEG p50 \/ 768×576 p50 = 1\.25× \(1\.20–1\.30\) ✅ met \(goal ≤ 3×\)/);
  });
});
