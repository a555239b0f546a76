import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FormData } from 'undici';
import type { JobView } from '../../storage/job-views.ts';
import { UsageError } from '../flags.ts';
import { Display, summary } from './display.ts';
import { ApiClient } from './http.ts';
import type { ClientIo } from './io.ts';
import { parseClientArgs, type ClientOptions } from './options.ts';
import { rowWriter, type ResultRow } from './output.ts';
import { checkPaths, walk } from './walk.ts';

export const JOBS_USAGE = `Usage:
  loupe jobs submit <files or directories…> [--url URL] [--key KEY] [--model M] [--version V] [--top-k K]
                    [--webhook URL] [--watch [--format table|json|csv]]
                    one job of all the images (POST /jobs); prints its id on stdout
  loupe jobs watch <id> [--url URL] [--key KEY] [--format table|json|csv]
                    progress until the job ends, then its results on stdout
Exit 1 when the job failed or any of its images did. Directories are walked as by loupe predict.`;

/** More files than this are refused before anything is sent: the server takes far fewer (LOUPE_MAX_JOB_IMAGES). */
const MAX_FILES = 10_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLL_MS = 500;

export async function runJobs(argv: string[], io: ClientIo): Promise<number> {
  const extra = { webhook: { type: 'string' }, watch: { type: 'boolean' } } as const;
  const { options, positionals, values, help } = parseClientArgs(argv, extra, io.env);
  const [sub, ...args] = positionals;
  if (help) {
    io.out(`${JOBS_USAGE}\n`);
    return 0;
  }
  if (sub === 'submit') return submit(args, options, values.webhook as string | undefined, values.watch === true, io);
  if (sub === 'watch' && args.length === 1) {
    if (!UUID_RE.test(args[0]!)) throw new UsageError(`"${args[0]}" is not a job id`);
    return watch(args[0]!, options, io);
  }
  throw new UsageError(sub === 'watch' ? 'give one job id' : `unknown jobs command "${sub ?? ''}"`);
}

async function submit(
  paths: string[],
  options: ClientOptions,
  webhook: string | undefined,
  then: boolean,
  io: ClientIo,
): Promise<number> {
  await checkPaths(paths);
  const counts = { found: 0, finished: false, skipped: 0 };
  const files: string[] = [];
  for await (const f of walk(paths, counts)) {
    if (files.length === MAX_FILES) throw new UsageError(`more than ${MAX_FILES} files: split them into several jobs`);
    files.push(f);
  }
  if (files.length === 0) throw new UsageError('no image files found');
  const blobs = await Promise.all(files.map((f) => openAsBlob(f))); // file-backed: read as they are sent
  const client = new ApiClient(options);
  // A retried submission (after 429/503 or a lost connection) must not make a second job.
  const idempotencyKey = randomUUID();
  try {
    const { body } = await client.json<{ id: string }>(
      {
        method: 'POST',
        path: 'jobs',
        headers: { 'idempotency-key': idempotencyKey },
        body: () => {
          const form = new FormData();
          const fields = { model: options.model, version: options.version, top_k: options.topK, webhook_url: webhook };
          for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, String(v));
          files.forEach((f, i) => form.append('file', blobs[i]!, path.basename(f)));
          return form;
        },
      },
      (n) => io.err(`loupe jobs submit: ${n.reason}; retry ${n.attempt}/${options.retries} in ${n.waitS} s\n`),
    );
    const skipped = counts.skipped ? `; ${counts.skipped} skipped (not an image extension)` : '';
    io.err(`job ${body.id} queued: ${files.length} image(s)${skipped}\n`);
    if (!then) {
      io.out(`${body.id}\n`);
      return 0;
    }
    return await follow(body.id, client, options, io, files);
  } finally {
    await client.close();
  }
}

async function watch(id: string, options: ClientOptions, io: ClientIo): Promise<number> {
  const client = new ApiClient(options);
  try {
    return await follow(id, client, options, io);
  } finally {
    await client.close();
  }
}

/** Polls the job until it ends, with a progress line on a terminal; then its items as rows, in the order sent. */
async function follow(
  id: string,
  client: ApiClient,
  options: ClientOptions,
  io: ClientIo,
  files: readonly string[] = [],
): Promise<number> {
  const display = new Display(io.err, io.tty, `job ${id.slice(0, 8)}`);
  const stop = io.stopSignal();
  display.start();
  try {
    for (;;) {
      const { body: job } = await client.json<JobView>({ method: 'GET', path: `jobs/${id}` });
      const { total, done, failed } = job.progress;
      display.progress(done + failed, total, failed);
      if (job.status === 'completed' || job.status === 'failed') {
        display.clear();
        const rows = job.items.map((item) => toRow(item, files[item.index]));
        const topK = Math.max(1, ...rows.map((r) => r.result?.predictions.length ?? 0));
        const writer = rowWriter(options.format, io.out, topK);
        for (const r of rows) writer.row(r);
        writer.end();
        for (const r of rows) if (r.error) io.err(`${r.file}: failed: ${r.error.code}: ${r.error.message}\n`);
        // The job's own time, from the server's clock: watching a finished job does not make it fast.
        const seconds = (Date.parse(job.completed_at ?? job.updated_at) - Date.parse(job.created_at)) / 1000;
        io.err(`job ${id} ${job.status}: ${summary(done, failed, 0, seconds)}\n`);
        return job.status === 'failed' || failed > 0 ? 1 : 0;
      }
      await sleep(POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) {
        display.clear();
        io.err(`loupe jobs: stopped watching; the job goes on (loupe jobs watch ${id})\n`);
        return 130;
      }
    }
  } finally {
    display.clear();
    stop.dispose();
  }
}

/** `local`: the path it was sent from, when this process sent it (the server keeps only the base name). */
function toRow(item: JobView['items'][number], local: string | undefined): ResultRow {
  const file = local ?? item.filename ?? `#${item.index}`;
  if (item.error) return { file, error: item.error };
  const result = item.result as Omit<NonNullable<ResultRow['result']>, 'id'>;
  return { file, result: { id: item.prediction_id ?? '', model: result.model, predictions: result.predictions } };
}
