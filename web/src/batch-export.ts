import type { Job } from './api.ts';

/**
 * A text cell that a spreadsheet would run as a formula (a file named `=HYPERLINK(…).png`) gets
 * a leading `'`, as OWASP advises and as csv-stringify's `escape_formulas` does for the CLI.
 */
const FORMULA = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

const cell = (v: string) => {
  const s = FORMULA.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/**
 * One row per image: its labels and scores, ranked (`label,score,label_2,score_2,…` up to the
 * most any image got: the job's top_k), or its error (RFC 4180 quoting, formulas defused).
 * The same columns as `loupe jobs watch --format csv`.
 */
export function jobCsv(job: Job): string {
  const k = Math.max(1, ...job.items.map((it) => it.result?.predictions.length ?? 0));
  const ranks = Array.from({ length: k - 1 }, (_, i) => [`label_${i + 2}`, `score_${i + 2}`]).flat();
  const rows = [
    ['index', 'filename', 'status', 'label', 'score', ...ranks, 'model', 'version', 'prediction_id', 'error'],
  ];
  for (const it of job.items) {
    const preds = it.result?.predictions ?? [];
    const pairs = Array.from({ length: k }, (_, i) => [preds[i]?.label ?? '', preds[i] ? String(preds[i].score) : '']);
    rows.push([
      String(it.index),
      it.filename ?? '',
      it.status,
      ...pairs.flat(),
      it.result?.model.name ?? '',
      it.result?.model.version ?? '',
      it.prediction_id ?? '',
      it.error ? `${it.error.code}: ${it.error.message}` : '',
    ]);
  }
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
