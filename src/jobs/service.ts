import type { PgBoss } from 'pg-boss';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { JobStore, NewJob } from '../storage/index.ts';
import { webhookUrlProblem, WebhookPolicy } from './egress.ts';
import { CLASSIFY_QUEUE } from './queue.ts';

/** Accepts a job: stores it with its images, then queues its id. */
export async function submitJob(
  store: JobStore,
  boss: PgBoss,
  job: NewJob,
  opts: { webhooksEnabled: boolean; webhookPolicy?: WebhookPolicy | undefined },
): Promise<{ id: string; created: boolean }> {
  if (job.images.length === 0)
    throw new LoupeError(ErrorCode.MissingFile, 'a job needs at least one image (multipart field "file", repeated)');
  if (job.webhookUrl) {
    if (!opts.webhooksEnabled)
      throw new LoupeError(ErrorCode.BadRequest, 'webhooks are disabled on this server: set LOUPE_WEBHOOK_SECRET');
    const problem = webhookUrlProblem(job.webhookUrl, opts.webhookPolicy ?? WebhookPolicy.publicOnly);
    if (problem) throw new LoupeError(ErrorCode.BadRequest, problem);
  }
  const res = await store.create(job);
  if (!res.created && !res.sameRequest)
    throw new LoupeError(
      ErrorCode.IdempotencyKeyReused,
      'this Idempotency-Key was already used for a different request (other images, model, version, top_k, webhook_url or metadata); send a new key for a new request',
    );
  // Sent after the insert: if the process dies in between, the worker's sweep re-queues it.
  if (res.created) await boss.send(CLASSIFY_QUEUE, { jobId: res.id }, { singletonKey: res.id });
  return res;
}
