import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatSpread,
  interleave,
  median,
  pairedRatio,
  roundOrder,
  spread,
  verdict,
} from '../../../bench/lib/rounds.ts';

describe('bench rounds: median and spread', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('is not moved by one outlier, where a mean would be', () => {
    const s = spread([60, 61, 59, 160]);
    assert.equal(s.median, 60.5);
    assert.deepEqual([s.min, s.max, s.n], [59, 160, 4]);
  });

  it('does not reorder the caller’s array', () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
});

describe('bench rounds: paired ratios', () => {
  it('divides round i of B by round i of A, so drift that hits both cancels', () => {
    // The machine slows down over the run: A and B both halve, B stays 1.6× A in every round.
    const a = [100, 70, 50];
    const b = [160, 112, 80];
    const r = pairedRatio(a, b);
    assert.equal(r.median, 1.6);
    assert.equal(r.min, r.max);
    // The ratio of the medians would agree here; a ratio of two unpaired single runs would not:
    assert.notEqual(b[2]! / a[0]!, 1.6);
  });

  it('reports the range of the per-round ratios', () => {
    const r = pairedRatio([100, 100, 100], [150, 170, 190]);
    assert.deepEqual([r.median, r.min, r.max, r.n], [1.7, 1.5, 1.9, 3]);
  });

  it('leaves out rounds without a partner and rounds where A measured nothing', () => {
    const r = pairedRatio([100, 0, 100, 100], [200, 50, 300]);
    assert.equal(r.n, 2);
    assert.equal(r.median, 2.5);
  });
});

describe('bench rounds: interleaving', () => {
  it('alternates the variants and flips the order every round (A B, B A, A B)', async () => {
    const seen: string[] = [];
    const out = await interleave(['A', 'B'] as const, 3, async (v, round) => {
      seen.push(`${v}${round}`);
      return round;
    });
    assert.deepEqual(seen, ['A0', 'B0', 'B1', 'A1', 'A2', 'B2']);
    assert.deepEqual(out, { A: [0, 1, 2], B: [0, 1, 2] });
    assert.deepEqual(roundOrder(['x', 'y', 'z'], 1), ['z', 'y', 'x']);
  });

  it('refuses fewer than three rounds', async () => {
    await assert.rejects(
      interleave(['A', 'B'], 2, async () => 0),
      RangeError,
    );
    await assert.rejects(
      interleave(['A', 'B'], 2.5, async () => 0),
      RangeError,
    );
  });
});

describe('bench rounds: how a goal is judged', () => {
  it('needs the median over the goal, and says when not every round agrees', () => {
    assert.equal(verdict({ median: 1.7, min: 1.62, max: 1.9, n: 3 }, 1.6), 'met');
    assert.equal(verdict({ median: 1.7, min: 1.4, max: 1.9, n: 3 }, 1.6), 'met (not every round)');
    assert.equal(verdict({ median: 1.5, min: 1.4, max: 1.7, n: 3 }, 1.6), 'missed (not every round)');
    assert.equal(verdict({ median: 1.2, min: 1.1, max: 1.3, n: 3 }, 1.6), 'missed');
  });

  it('prints the median with its range', () => {
    assert.equal(formatSpread({ median: 60.44, min: 58.1, max: 62, n: 3 }), '60.4 (58.1–62.0)');
    assert.equal(formatSpread({ median: 1.623, min: 1.5, max: 1.8, n: 3 }, 2, '×'), '1.62× (1.50–1.80)');
    assert.equal(formatSpread(spread([]), 1), '–');
  });
});
