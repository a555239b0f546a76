import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fairnessMarkdown,
  fairnessPhases,
  type FairnessReport,
  type FairnessRun,
} from '../../../bench/lib/fairness.ts';

const run = (round: number, attack: FairnessRun['attack'], transport: 'http' | 'grpc', throughput: number) => ({
  round,
  attack,
  transport,
  throughput,
  p99: 50 + round,
  requests: 100,
  ok: round === 2 && attack !== 'none' ? 99 : 100,
  success: round === 2 && attack !== 'none' ? 0.99 : 1,
  attacker: attack === 'none' ? {} : { 'held to the end': 7 },
});

// Round 1 is a slow minute for everything: an unpaired comparison (attacked round 1 against
// unattacked round 0) would read 50 %, the paired one reads 95 %.
const rates = {
  none: [400, 200, 420],
  'slow-http-uploads': [380, 190, 399],
  'grpc-header-only-streams': [300, 190, 420],
};
const report: FairnessReport = {
  model: 'fashion-mnist',
  concurrency: 4,
  seconds: 8,
  rounds: 3,
  limits: { LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: 1 },
  runs: ([0, 1, 2] as const).flatMap((round) =>
    (Object.keys(rates) as Array<keyof typeof rates>).flatMap((attack) =>
      (['http', 'grpc'] as const).map((t) => run(round, attack, t, rates[attack][round]!)),
    ),
  ),
};

describe('bench fairness: interleaved rounds', () => {
  it('pairs each attacked round with the unattacked run of the same round and transport', () => {
    const phases = fairnessPhases(report);
    const slow = phases.find((p) => p.attack === 'slow-http-uploads' && p.transport === 'http')!;
    assert.equal(slow.share!.n, 3);
    assert.equal(slow.share!.median, 0.95);
    assert.equal(slow.share!.min, 0.95);
    const streams = phases.find((p) => p.attack === 'grpc-header-only-streams' && p.transport === 'grpc')!;
    assert.equal(streams.share!.min, 0.75);
    assert.equal(streams.share!.max, 1);
    assert.equal(streams.share!.median, 0.95);
    assert.equal(streams.success, 0.99, 'the worst round');
    assert.deepEqual(streams.attacker, { 'held to the end': 21 });
    assert.equal(phases.find((p) => p.attack === 'none')!.share, undefined);
  });

  it('the table shows medians with their range and judges the goal on the median', () => {
    const md = fairnessMarkdown(report, 'machine');
    assert.match(md, /3 interleaved rounds of 8 s/);
    assert.match(md, /\| grpc-header-only-streams \| grpc \| 300\.0 \(190\.0–420\.0\) \| 95 % \(75–100\) \|/);
    assert.match(
      md,
      /grpc-header-only-streams, victim on grpc: 95 % \(75–100\) of its unattacked rate, goal ≥ 90 % met \(not every round\)/,
    );
    assert.match(md, /slow-http-uploads, victim on http: 95 % of its unattacked rate, goal ≥ 90 % met$/m);
  });
});
