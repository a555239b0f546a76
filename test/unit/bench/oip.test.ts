import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oipMarkdown, oipSummary, type OipRun, type Transport } from '../../../bench/lib/oip.ts';

const run = (round: number, transport: Transport, throughput: number): OipRun =>
  ({
    round,
    transport,
    concurrency: 16,
    throughput,
    p50: 10 + round,
    p99: 30,
    ok: 1000,
    clientCpuS: 1,
    serverCpuS: 2,
  }) as unknown as OipRun;

describe('bench OIP transports: interleaved rounds', () => {
  // Round 1 is a slow minute for both: paired by round, gRPC / HTTP is 0.8 every time; a ratio
  // of unpaired figures (round 1's gRPC over round 0's HTTP) would read 0.4.
  const http = [500, 250, 520];
  const runs = [0, 1, 2].flatMap((i) => [
    run(i, 'http-binary', http[i]!),
    run(i, 'http-json', http[i]! * 0.9),
    run(i, 'grpc', http[i]! * 0.8),
  ]);

  it('gRPC / HTTP binary is the median of the per-round ratios, with their range', () => {
    const [s] = oipSummary(runs, [16]);
    assert.equal(s!.grpc_vs_http_binary.n, 3);
    assert.ok(Math.abs(s!.grpc_vs_http_binary.median - 0.8) < 1e-9);
    assert.ok(Math.abs(s!.grpc_vs_http_binary.max - s!.grpc_vs_http_binary.min) < 1e-9);
    assert.equal(s!.throughput['http-binary'], 500, 'the median, not the mean (423.3)');
    assert.equal(s!.p50.grpc, 11);
  });

  it('the table says how the cells are made', () => {
    const md = oipMarkdown(
      { model: 'm', image_bytes: 8192, seconds: 8, rounds: 3, runs, summary: oipSummary(runs, [16]) },
      'machine',
    );
    assert.match(md, /\| 16 \| 500\.0 \| 450\.0 \| 400\.0 \| \*\*0\.80\*\* \|/);
    assert.match(md, /the median of the per-round ratios/);
  });
});
