import type { LoadResult } from './load.ts';
import type { RawResult } from './raw.ts';
import { formatSpread, verdict, type Spread } from './rounds.ts';

export interface ModelReport {
  readonly name: string;
  readonly version: string;
  readonly chw: number[];
  readonly P: RawResult & { msSingle: number };
  readonly I1: RawResult;
  readonly If: RawResult;
  readonly formed: number;
  /** Per level: CPU seconds the server used, the cores there were, ONNX Runtime's time per image. */
  readonly levels: Array<LoadResult & { meanBatch: number; serverCpuS: number; cpus: number; ortMsPerImage: number }>;
  readonly phone: LoadResult;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly provider: string;
  readonly rawBatches: Record<string, number>;
  /**
   * From interleaved rounds (model-rounds.ts): medians with min–max; each ratio paired within a
   * round. The single-run fields above are the median round's, for the other columns.
   */
  readonly rounds?: {
    readonly n: number;
    readonly B: Spread;
    readonly throughput: Record<number, Spread>;
    readonly serverOverB: Record<number, Spread>;
    readonly p50OverBound: Spread;
    readonly phoneOverWeb: Spread;
  };
}

const pctSpread = (s: Spread) =>
  s.n > 1 && s.min !== s.max ? `${pct(s.median)} (${pct(s.min)}–${pct(s.max)})` : pct(s.median);

const f1 = (x: number) => x.toFixed(1);
export const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** The share of the machine's CPU that `cpuS` CPU seconds are over `seconds` on `cpus` cores. */
export const cpuShare = (cpuS: number, seconds: number, cpus: number) => cpuS / (seconds * cpus);
const mb = (x: number) => `${Math.round(x / 1e6)} MB`;
const mark = (ok: boolean) => (ok ? '✅' : '❌');

export function markdownReport(
  meta: { date: string; machine: string; node: string; seconds_per_level: number },
  reports: ModelReport[],
  overload: (LoadResult & { model: string; rss_samples_mb: number[] }) | null,
): string {
  const lines = [
    `### Benchmark ${meta.date.slice(0, 16).replace('T', ' ')} UTC — ${meta.machine}, Node ${meta.node}, ${meta.seconds_per_level}s per level`,
    '',
    '| model (provider) | input | P decode img/s | I batch 1 img/s | I batch formed img/s | B bound img/s | c | img/s | p50 ms | p99 ms | mean batch | ORT compute ms/img: server (raw) | server / B | CPU client / server | server / B′ | RSS before → after |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const goals: string[] = [];
  for (const r of reports) {
    const B = 1 / (1 / r.If.imagesPerSecond + 1 / r.P.imagesPerSecond);
    r.levels.forEach((l, i) => {
      const head =
        i === 0
          ? [
              `${r.name} (${r.provider})`,
              r.chw.join('×'),
              f1(r.P.imagesPerSecond),
              f1(r.I1.imagesPerSecond),
              `${f1(r.If.imagesPerSecond)} (b=${r.formed})`,
              r.rounds ? formatSpread(r.rounds.B) : f1(B),
            ]
          : ['', '', '', '', '', ''];
      const share = clientShare(l);
      const rawMs = 1000 / (l.meanBatch >= r.formed / 2 ? r.If.imagesPerSecond : r.I1.imagesPerSecond);
      lines.push(
        `| ${[...head, l.concurrency, r.rounds?.throughput[l.concurrency] ? formatSpread(r.rounds.throughput[l.concurrency]!) : f1(l.throughput), l.p50, l.p99, f1(l.meanBatch), `${l.ortMsPerImage.toFixed(2)} (${rawMs.toFixed(2)})`, r.rounds?.serverOverB[l.concurrency] ? pctSpread(r.rounds.serverOverB[l.concurrency]!) : pct(l.throughput / B), `${pct(share)} / ${pct(cpuShare(l.serverCpuS, l.seconds, l.cpus))}`, pct(l.throughput / (B * (1 - share))), i === 0 ? `${mb(r.rssBefore)} → ${mb(r.rssAfter)}` : ''].join(' | ')} |`,
      );
    });
    const best = r.levels.filter((l) => l.concurrency >= 16).sort((a, b) => b.throughput - a.throughput)[0];
    const high = best?.throughput ?? 0;
    const c1 = r.levels.find((l) => l.concurrency === 1);
    const p50Bound = r.P.msSingle + r.I1.msPerCall + 3;
    const web = c1?.p50 ?? NaN;
    if (r.rounds) {
      goals.push(roundGoals(r, r.rounds));
      continue;
    }
    goals.push(
      `- **${r.name}**: throughput at c ≥ 16 = ${f1(high)} img/s = ${pct(high / B)} of B ${mark(high >= 0.9 * B)} (goal ≥ 90%); ` +
        `p50 at c = 1 = ${web} ms vs raw ${f1(r.P.msSingle)} + ${f1(r.I1.msPerCall)} + 3 = ${f1(p50Bound)} ms ${mark(web <= p50Bound)}; ` +
        `12 MP JPEG p50 = ${r.phone.p50} ms = ${f1(r.phone.p50 / web)}× the 768×576 one ${mark(r.phone.p50 <= 3 * web)} (goal ≤ 3×)` +
        (best
          ? `; the load generator used ${pct(clientShare(best))} of the CPU there, so against B′ = B × (1 − that) the server reaches ${pct(high / (B * (1 - clientShare(best))))}`
          : ''),
    );
  }
  for (const r of reports) {
    const extra = Object.entries(r.rawBatches);
    if (extra.length)
      goals.push(
        `- **${r.name}** raw ONNX Runtime on ${r.provider}: ${extra.map(([b, v]) => `${b.replace('_', ' ')} = ${f1(v)} img/s`).join(', ')}`,
      );
  }
  if (!overload) return [...lines, '', 'Goals:', ...goals, ''].join('\n');
  const rss = overload.rss_samples_mb;
  const third = Math.max(1, Math.floor(rss.length / 3));
  const mid = avg(rss.slice(third, 2 * third));
  const last = avg(rss.slice(-third));
  const stable = rss.length < 3 || last <= mid * 1.1;
  goals.push(
    `- **overload** (${overload.model}, 128 clients, queue 32, ${f1(overload.seconds)} s): ${overload.ok} answered 200, ${overload.status503} answered 503, ${overload.otherErrors} other errors ${mark(overload.otherErrors === 0)}; RSS ${rss.join(' → ')} MB, ${stable ? 'no growth trend' : 'growing'} ${mark(stable)}`,
  );
  return [...lines, '', 'Goals:', ...goals, ''].join('\n');
}

/**
 * The goals from interleaved rounds: each is judged on the median of its per-round ratio, and
 * says so when some round fell on the other side (verdict in rounds.ts).
 */
function roundGoals(r: ModelReport, rounds: NonNullable<ModelReport['rounds']>): string {
  const high = Object.keys(rounds.serverOverB)
    .map(Number)
    .filter((c) => c >= 16)
    .sort((a, b) => rounds.serverOverB[b]!.median - rounds.serverOverB[a]!.median)[0];
  const ofB = high === undefined ? undefined : rounds.serverOverB[high]!;
  const tick = (v: string) => `${v.startsWith('met') ? '✅' : '❌'} ${v}`;
  // p50 ≤ its bound and 12 MP ≤ 3× web are "at most" goals: judged as 1 / ratio ≥ 1 / goal.
  const inverse = (s: Spread): Spread => ({ median: 1 / s.median, min: 1 / s.max, max: 1 / s.min, n: s.n });
  return (
    `- **${r.name}** (${rounds.n} interleaved rounds, median (min–max)): ` +
    (ofB
      ? `throughput at c = ${high} = ${formatSpread(rounds.throughput[high!]!)} img/s = ${pctSpread(ofB)} of B ${tick(verdict(ofB, 0.9))} (goal ≥ 90%); `
      : '') +
    `p50 at c = 1 / (raw P + I + 3 ms) = ${formatSpread(rounds.p50OverBound, 2, '×')} ${tick(verdict(inverse(rounds.p50OverBound), 1))} (goal ≤ 1×); ` +
    `12 MP JPEG p50 / 768×576 p50 = ${formatSpread(rounds.phoneOverWeb, 2, '×')} ${tick(verdict(inverse(rounds.phoneOverWeb), 1 / 3))} (goal ≤ 3×)`
  );
}

/** The share of the machine's CPU the load generator took during a level. */
function clientShare(l: { clientCpuS: number; seconds: number; cpus: number }): number {
  return Math.min(0.99, cpuShare(l.clientCpuS, l.seconds, l.cpus));
}

function avg(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
