import type { RangeBar } from './chart.ts';
import type { Precision, PrecisionModel } from './precision.ts';
import { formatSpread, verdict, type Spread } from './rounds.ts';

const V: readonly Precision[] = ['fp32', 'int8'];
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const x = (s: Spread) => formatSpread(s, 2, '×');

/** The fp32-vs-int8 table: medians with each round's min–max, and int8 / fp32 paired per round. */
export function precisionMarkdown(
  models: PrecisionModel[],
  meta: { title: string; high: number; goal: number },
): string {
  const lines = [
    meta.title,
    '',
    `| model | precision | model size | img/s c = 1 | img/s c = ${meta.high} | p50 ms c = 1 | p50 ms c = ${meta.high} | peak RSS MB | raw ORT img/s by batch | int8 / fp32 c = 1 | int8 / fp32 c = ${meta.high} | top-1 agreement |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const goals: string[] = [];
  for (const m of models) {
    const s = m.summary;
    for (const v of V) {
      const first = v === 'fp32';
      const raw = Object.entries(s.raw[v])
        .map(([b, sp]) => `b${b}: ${formatSpread(sp, 0)}`)
        .join(', ');
      lines.push(
        `| ${first ? m.model : ''} | ${v} | ${mb(m.bytes[v])} | ${formatSpread(s.c1[v])} | ${formatSpread(s.high[v])} | ${formatSpread(s.p50_c1[v], 0)} | ${formatSpread(s.p50_high[v], 0)} | ${formatSpread(s.peak_rss_mb[v], 0)} | ${raw} | ${first ? x(s.speedup_c1) : ''} | ${first ? `**${x(s.speedup_high)}**` : ''} | ${first ? `${m.agreement.same}/${m.agreement.images}` : ''} |`,
      );
    }
    const raw = Object.entries(m.summary.speedup_raw ?? {})
      .map(([b, sp]) => `batch ${b} ${x(sp)}`)
      .join(', ');
    goals.push(
      `- **${m.model}**: int8 / fp32 at c = ${meta.high} = ${x(m.summary.speedup_high)} over ${m.summary.speedup_high.n} paired rounds: goal ≥ ${meta.goal}× ${verdict(m.summary.speedup_high, meta.goal)}` +
        (raw ? `; bare ONNX Runtime int8 / fp32: ${raw}` : ''),
    );
  }
  return [
    ...lines,
    '',
    'Each cell: median over the interleaved rounds (min–max in brackets); ratios are per-round pairs (int8 round i / fp32 round i).',
    '',
    ...goals,
    '',
  ].join('\n');
}

/** Bars for rangeBarChart: img/s at c = 1 and c = high per model and precision. */
export function precisionBars(models: PrecisionModel[], high: number): RangeBar[] {
  return models.flatMap((m) =>
    V.flatMap((v) =>
      (
        [
          ['c = 1', m.summary.c1[v]],
          [`c = ${high}`, m.summary.high[v]],
        ] as const
      ).map(([level, s]) => ({
        model: m.model,
        variant: v,
        level,
        median: Math.round(s.median * 10) / 10,
        min: Math.round(s.min * 10) / 10,
        max: Math.round(s.max * 10) / 10,
      })),
    ),
  );
}
