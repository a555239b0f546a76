import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FormData } from 'undici';
import type { JobView } from '../../storage/index.ts';
import { UsageError } from '../flags.ts';
import { Display, summary } from './display.ts';
import { ApiClient } from './http.ts';
import type { ClientIo } from './io.ts';
import { parseClientArgs, type ClientOptions } from './options.ts';
import { rowWriter, type ResultRow } from './output.ts';
import { checkPaths, walk } from './walk.ts';
import { fetchLimits, planJobs } from './job-split.ts';

export const JOBS_USAGE = `Usage:
  loupe jobs submit <files or directories…> [--url URL] [--key KEY] [--model M] [--version V] [--top-k K]
                    [--webhook URL] [--watch [--format table|json|csv]]
                    the images as one job (POST /jobs), or as several when they are more than the
                    server takes in one (its GET /limits); prints the job ids on stdout
  loupe jobs watch <id> [--url URL] [--key KEY] [--format table|json|csv]
                    progress until the job ends, then its results on stdout
Exit 1 when the job failed or any of its images did. Directories are walked as by loupe predict.`;

/** More files than this are refused before anything is sent: a selection this large is better sent in parts. */
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
    if (files.length === MAX_FILES) throw new UsageError(`more than ${MAX_FILES} files: give fewer at a time`);
    files.push(f);
  }
  if (files.length === 0) throw new UsageError('no image files found');
  const blobs = await Promise.all(files.map((f) => openAsBlob(f))); // file-backed: read as they are sent
  const client = new ApiClient(options);
  try {
    // The server's limits first: a larger selection goes as several jobs instead of being refused halfway.
    const plan = planJobs(
      files.map((f, i) => ({ path: f, bytes: blobs[i]!.size })),
      await fetchLimits(client),
    );
    if (plan.why) io.err(`loupe jobs submit: ${plan.why}\n`);
    const ids: string[] = [];
    for (const [n, indexes] of plan.jobs.entries()) {
      const id = await post(
        client,
        options,
        webhook,
        io,
        indexes.map((i) => [files[i]!, blobs[i]!] as const),
      );
      const skipped = n === 0 && counts.skipped ? `; ${counts.skipped} skipped (not an image extension)` : '';
      const part = plan.jobs.length > 1 ? ` (job ${n + 1} of ${plan.jobs.length})` : '';
      io.err(`job ${id} queued: ${indexes.length} image(s)${part}${skipped}\n`);
      if (!then) io.out(`${id}\n`);
      ids.push(id);
    }
    if (!then) return 0;
    const local = plan.jobs.map((indexes) => indexes.map((i) => files[i]!));
    return await follow(ids, client, options, io, local);
  } finally {
    await client.close();
  }
}

/** One job of `files`; its id. A retry (after 429/503 or a lost connection) carries the same Idempotency-Key: no second job. */
async function post(
  client: ApiClient,
  options: ClientOptions,
  webhook: string | undefined,
  io: ClientIo,
  files: ReadonlyArray<readonly [string, Blob]>,
): Promise<string> {
  const idempotencyKey = randomUUID();
  const { body } = await client.json<{ id: string }>(
    {
      method: 'POST',
      path: 'jobs',
      headers: { 'idempotency-key': idempotencyKey },
      body: () => {
        const form = new FormData();
        const fields = { model: options.model, version: options.version, top_k: options.topK, webhook_url: webhook };
        for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, String(v));
        for (const [f, blob] of files) form.append('file', blob, path.basename(f));
        return form;
      },
    },
    (n) => io.err(`loupe jobs submit: ${n.reason}; retry ${n.attempt}/${options.retries} in ${n.waitS} s\n`),
  );
  return body.id;
}

async function watch(id: string, options: ClientOptions, io: ClientIo): Promise<number> {
  const client = new ApiClient(options);
  try {
    return await follow([id], client, options, io);
  } finally {
    await client.close();
  }
}

/**
 * Polls each job until it ends, with a progress line on a terminal; then the items of all of
 * them as rows of one output (one CSV header, one JSON array), in the order sent.
 */
async function follow(
  ids: readonly string[],
  client: ApiClient,
  options: ClientOptions,
  io: ClientIo,
  files: ReadonlyArray<readonly string[]> = [],
): Promise<number> {
  const rows: ResultRow[] = [];
  let failedAny = false;
  let asked = options.topK;
  for (const [n, id] of ids.entries()) {
    const job = await waitFor(id, client, io);
    if (!job) {
      const left = ids.slice(n).map((x) => `loupe jobs watch ${x}`);
      io.err(`loupe jobs: stopped watching; the job${left.length > 1 ? 's go' : ' goes'} on (${left.join('; ')})\n`);
      return 130;
    }
    const jobRows = job.items.map((item) => toRow(item, files[n]?.[item.index]));
    rows.push(...jobRows);
    for (const r of jobRows) if (r.error) io.err(`${r.file}: failed: ${r.error.code}: ${r.error.message}\n`);
    // The job's own time, from the server's clock: watching a finished job does not make it fast.
    const seconds = (Date.parse(job.completed_at ?? job.updated_at) - Date.parse(job.created_at)) / 1000;
    const { done, failed } = job.progress;
    io.err(`job ${id} ${job.status}: ${summary(done, failed, 0, seconds)}\n`);
    failedAny ||= job.status === 'failed' || failed > 0;
    asked ??= job.top_k ?? undefined;
  }
  // What was asked for: --top-k now, else the jobs' own top_k; a table without either shows the top label.
  const most = Math.max(1, ...rows.map((r) => r.result?.predictions.length ?? 0));
  const writer = rowWriter(options.format, io.out, asked ?? (options.format === 'table' ? undefined : most));
  for (const r of rows) writer.row(r);
  writer.end();
  return failedAny ? 1 : 0;
}

/** The job once it has ended, or undefined when the watch was stopped (Ctrl-C). */
async function waitFor(id: string, client: ApiClient, io: ClientIo): Promise<JobView | undefined> {
  const display = new Display(io.err, io.tty, `job ${id.slice(0, 8)}`);
  const stop = io.stopSignal();
  display.start();
  try {
    for (;;) {
      const { body: job } = await client.json<JobView>({ method: 'GET', path: `jobs/${id}` });
      const { total, done, failed } = job.progress;
      display.progress(done + failed, total, failed);
      if (job.status === 'completed' || job.status === 'failed') return job;
      await sleep(POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) return undefined;
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
