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

/** One row per image: its top label and score, or its error (RFC 4180 quoting, formulas defused). */
export function jobCsv(job: Job): string {
  const rows = [['index', 'filename', 'status', 'label', 'score', 'model', 'version', 'prediction_id', 'error']];
  for (const it of job.items) {
    const top = it.result?.predictions[0];
    rows.push([
      String(it.index),
      it.filename ?? '',
      it.status,
      top?.label ?? '',
      top ? String(top.score) : '',
      it.result?.model.name ?? '',
      it.result?.model.version ?? '',
      it.prediction_id ?? '',
      it.error ? `${it.error.code}: ${it.error.message}` : '',
    ]);
  }
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
