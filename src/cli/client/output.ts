import { stringify } from 'csv-stringify/sync';
import type { PredictionBody } from '../../http/index.ts';
import type { Format } from './options.ts';

/** One file's outcome: the server's prediction, or why it has none. */
export interface ResultRow {
  readonly file: string;
  readonly result?: Pick<PredictionBody, 'id' | 'model' | 'predictions'>;
  readonly error?: {
    readonly status?: number;
    readonly code: string;
    readonly message: string;
    readonly request_id?: string;
  };
}

export interface RowWriter {
  row(r: ResultRow): void;
  end(): void;
}

/** The server's default top_k: how many label/score column pairs CSV has when --top-k is not given. */
const DEFAULT_TOP_K = 5;

/**
 * Rows written as they come (nothing is held, whatever the number of files):
 * - csv: a header, then `file,label,score,label_2,score_2,…,model,version,prediction_id,error`
 *   (csv-stringify quotes what needs it, and puts a `'` before a text cell that starts with
 *   = + - @, which a spreadsheet would run as a formula); a failed file has only `file` and `error`;
 * - json: one JSON array, one element per file (`{file, result}` or `{file, error}`);
 * - table: aligned columns for people, the top label on the file's line and ranks 2…k (with
 *   --top-k) on lines of their own below it; the label column is cut at 24 characters.
 * `topK` undefined: CSV has the server's default number of pairs, a table the top label only.
 */
export function rowWriter(format: Format, out: (text: string) => void, topK?: number): RowWriter {
  if (format === 'json') return jsonWriter(out);
  if (format === 'csv') return csvWriter(out, topK ?? DEFAULT_TOP_K);
  return tableWriter(out, topK ?? 1);
}

function jsonWriter(out: (text: string) => void): RowWriter {
  let n = 0;
  return {
    row: (r) => out(`${n++ === 0 ? '[\n' : ',\n'}${JSON.stringify(r)}`),
    end: () => out(n === 0 ? '[]\n' : '\n]\n'),
  };
}

function csvWriter(out: (text: string) => void, topK: number): RowWriter {
  const ranks = Array.from({ length: topK - 1 }, (_, i) => i + 2);
  const header = [
    'file',
    'label',
    'score',
    ...ranks.flatMap((k) => [`label_${k}`, `score_${k}`]),
    'model',
    'version',
    'prediction_id',
    'error',
  ];
  out(stringify([header]));
  return {
    row: (r) => {
      const preds = r.result?.predictions ?? [];
      const pairs = Array.from({ length: topK }, (_, i) => [preds[i]?.label ?? '', preds[i]?.score ?? '']).flat();
      const error = r.error ? errorText(r.error) : '';
      out(
        stringify(
          [[r.file, ...pairs, r.result?.model.name ?? '', r.result?.model.version ?? '', r.result?.id ?? '', error]],
          { escape_formulas: true },
        ),
      );
    },
    end: () => undefined,
  };
}

function tableWriter(out: (text: string) => void, topK: number): RowWriter {
  out(`${'LABEL'.padEnd(24)}  ${'SCORE'.padStart(6)}  FILE\n`);
  const cells = (label: string, score: number) => `${cut(label, 24).padEnd(24)}  ${score.toFixed(4).padStart(6)}`;
  return {
    row: (r) => {
      const [top, ...rest] = r.result?.predictions.slice(0, topK) ?? [];
      if (!top) return out(`${'(failed)'.padEnd(24)}  ${'-'.padStart(6)}  ${r.file}  ${errorText(r.error!)}\n`);
      out(`${cells(top.label, top.score)}  ${r.file}\n`);
      rest.forEach((p, i) => out(`${cells(`  ${i + 2}. ${p.label}`, p.score)}\n`));
    },
    end: () => undefined,
  };
}

export function errorText(e: NonNullable<ResultRow['error']>): string {
  return `${e.status ? `${e.status} ` : ''}${e.code}: ${e.message}${e.request_id ? ` (request id ${e.request_id})` : ''}`;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
