import type { PgBoss } from 'pg-boss';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { JobRequest, JobStore, NewJob, StagedJob } from '../storage/index.ts';
import { webhookUrlProblem, WebhookPolicy } from './egress.ts';
import { CLASSIFY_QUEUE, type ClassifyJob, type QueuedTrace } from './queue.ts';

export interface SubmitOptions {
  readonly webhooksEnabled: boolean;
  readonly webhookPolicy?: WebhookPolicy | undefined;
  /** Refuses a model, version or top_k the server cannot serve (404/400 now, not failed items later). */
  readonly checkModel?:
    ((model: string | undefined, version: string | undefined, topK: number | undefined) => void) | undefined;
  /** The submitter's trace context (Tracing.inject), queued with the job: the worker continues its trace. */
  readonly trace?: QueuedTrace | undefined;
}

/** Accepts a job whose images are all at hand: stores it with its images, then queues its id. */
export async function submitJob(
  store: JobStore,
  boss: PgBoss,
  job: NewJob,
  opts: SubmitOptions,
): Promise<{ id: string; created: boolean }> {
  checkJob(job, job.images.length, opts);
  return queueNew(boss, await store.create(job), opts.trace);
}

/**
 * Accepts a job whose images were stored as they arrived (POST /jobs): checks the request now
 * that it is complete, makes the staged job a queued one (or finds the job of its
 * Idempotency-Key), then queues its id. The caller discards the staged job if this throws.
 */
export async function acceptStagedJob(
  staged: StagedJob,
  boss: PgBoss,
  request: JobRequest,
  opts: SubmitOptions,
): Promise<{ id: string; created: boolean }> {
  checkJob(request, staged.count, opts);
  return queueNew(boss, await staged.finish(request), opts.trace);
}

function checkJob(job: JobRequest, images: number, opts: SubmitOptions): void {
  if (images === 0)
    throw new LoupeError(ErrorCode.MissingFile, 'a job needs at least one image (multipart field "file", repeated)');
  if (job.webhookUrl) {
    if (!opts.webhooksEnabled)
      throw new LoupeError(ErrorCode.BadRequest, 'webhooks are disabled on this server: set LOUPE_WEBHOOK_SECRET');
    const problem = webhookUrlProblem(job.webhookUrl, opts.webhookPolicy ?? WebhookPolicy.publicOnly);
    if (problem) throw new LoupeError(ErrorCode.BadRequest, problem);
  }
  opts.checkModel?.(job.model, job.version, job.topK);
}

async function queueNew(
  boss: PgBoss,
  res: { id: string; created: true } | { id: string; created: false; sameRequest: boolean },
  trace: QueuedTrace | undefined,
): Promise<{ id: string; created: boolean }> {
  if (!res.created && !res.sameRequest)
    throw new LoupeError(
      ErrorCode.IdempotencyKeyReused,
      'this Idempotency-Key was already used for a different request (other images, model, version, top_k, webhook_url or metadata); send a new key for a new request',
    );
  // Sent after the insert: if the process dies in between, the worker's sweep re-queues it.
  const entry: ClassifyJob = trace && Object.keys(trace).length ? { jobId: res.id, trace } : { jobId: res.id };
  if (res.created) await boss.send(CLASSIFY_QUEUE, entry, { singletonKey: res.id });
  return res;
}
