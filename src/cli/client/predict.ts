import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { FormData } from 'undici';
import type { PredictionBody } from '../../http/index.ts';
import { int, UsageError } from '../flags.ts';
import { Display, summary } from './display.ts';
import { ApiClient, ApiError } from './http.ts';
import type { ClientIo } from './io.ts';
import { parseClientArgs } from './options.ts';
import { rowWriter, type ResultRow } from './output.ts';
import { forEachLimited } from './pool.ts';
import { checkPaths, walk, type WalkCounts } from './walk.ts';

export const PREDICT_USAGE = `Usage:
  loupe predict <files or directories…> [--url URL] [--key KEY] [--model M] [--version V] [--top-k K]
                [--format table|json|csv] [--concurrency N] [--retries N]
Classifies each image with POST /predict, N at a time (default 4); results on stdout, progress
and a summary on stderr; exit 1 if any image failed.
  --url       the server (default $LOUPE_URL or http://127.0.0.1:8000)
  --key       an API key (default $LOUPE_API_KEY; prefer the variable: flags show in ps)
  --retries   how often a request refused with 429/503 (or cut off once the server has answered)
              is retried, after its Retry-After (default 5); no server at --url fails at once
Directories are walked recursively; in them only .jpg .jpeg .png .webp .gif .tif .tiff .avif
files are sent (others are counted as skipped). Files named on the command line are always sent:
the server refuses what is not an image (415/422), and that counts as failed.`;

const MAX_CONCURRENCY = 64;

/** `loupe predict …`: 0 when every image was classified, 1 when any failed or the run stopped. */
export async function runPredict(argv: string[], io: ClientIo): Promise<number> {
  const { options, positionals, values, help } = parseClientArgs(argv, { concurrency: { type: 'string' } }, io.env);
  if (help) {
    io.out(`${PREDICT_USAGE}\n`);
    return 0;
  }
  const concurrency = int('concurrency', values.concurrency as string | undefined) ?? 4;
  if (concurrency > MAX_CONCURRENCY) throw new UsageError(`--concurrency must be at most ${MAX_CONCURRENCY}`);
  await checkPaths(positionals);

  const client = new ApiClient(options);
  const display = new Display(io.err, io.tty, 'classifying');
  const writer = rowWriter(options.format, io.out, options.topK);
  const counts: WalkCounts = { found: 0, finished: false, skipped: 0 };
  const stop = io.stopSignal();
  let done = 0;
  let failed = 0;
  let fatal: ApiError | undefined;
  const started = performance.now();
  let total: number | undefined;
  // On a terminal the bar wants a total: a second walk counts the files (names only, none kept).
  if (io.tty)
    void countFiles(positionals, stop.signal).then(
      (n) => (total = n),
      () => undefined,
    );
  display.start();

  const classify = async (file: string) => {
    let row: ResultRow;
    try {
      const blob = await openAsBlob(file); // read from disk as it is sent, again for a retry
      const { body } = await client.json<PredictionBody>(
        {
          method: 'POST',
          path: 'predict',
          query: { model: options.model, version: options.version, top_k: options.topK },
          body: () => {
            const form = new FormData();
            form.append('file', blob, path.basename(file));
            return form;
          },
        },
        (n) => display.line(`${file}: ${n.reason}; retry ${n.attempt}/${options.retries} in ${n.waitS} s`),
      );
      row = { file, result: { id: body.id, model: body.model, predictions: body.predictions } };
      done++;
    } catch (err) {
      if (err instanceof ApiError && err.noServer) {
        // Not this file's failure: there is no server. One line at the end says so, not one per file.
        fatal ??= err;
        stop.abort();
        return;
      }
      failed++;
      row = { file, error: errorRow(err) };
      display.line(`${file}: failed: ${err instanceof ApiError ? err.describe() : row.error!.message}`);
      if (err instanceof ApiError && err.fatal && !fatal) {
        fatal = err;
        stop.abort(); // every further request would be refused the same way
      }
    }
    writer.row(row);
    await io.drained();
    display.progress(done + failed, counts.finished ? counts.found : total, failed);
  };

  try {
    await forEachLimited(walk(positionals, counts), concurrency, classify, stop.signal);
  } finally {
    writer.end();
    display.clear();
    await client.close();
    stop.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  if (!fatal?.noServer) io.err(`${summary(done, failed, counts.skipped, seconds)}\n`);
  if (fatal) io.err(`loupe predict: stopped: ${fatal.describe()}\n`);
  else if (stop.signal.aborted) io.err('loupe predict: interrupted\n');
  return fatal ? 1 : stop.signal.aborted ? 130 : failed > 0 ? 1 : 0;
}

async function countFiles(paths: readonly string[], signal: AbortSignal): Promise<number | undefined> {
  const counts: WalkCounts = { found: 0, finished: false, skipped: 0 };
  for await (const _ of walk(paths, counts)) if (signal.aborted) return undefined;
  return counts.found;
}

export function errorRow(err: unknown): NonNullable<ResultRow['error']> {
  if (err instanceof ApiError)
    return {
      ...(err.status ? { status: err.status } : {}),
      code: err.code,
      message: err.message,
      ...(err.requestId ? { request_id: err.requestId } : {}),
    };
  const e = err as NodeJS.ErrnoException;
  return { code: 'READ_ERROR', message: e.code ? `${e.code}: ${e.message}` : String(e.message ?? err) };
}
