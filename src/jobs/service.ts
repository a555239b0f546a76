import type { PgBoss } from 'pg-boss';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { JobStore, NewJob } from '../storage/index.ts';
import { CLASSIFY_QUEUE } from './queue.ts';

/** Accepts a job: stores it with its images, then queues its id. */
export async function submitJob(
  store: JobStore,
  boss: PgBoss,
  job: NewJob,
  opts: { webhooksEnabled: boolean },
): Promise<{ id: string; created: boolean }> {
  if (job.images.length === 0)
    throw new LoupeError(ErrorCode.MissingFile, 'a job needs at least one image (multipart field "file", repeated)');
  if (job.webhookUrl) {
    if (!opts.webhooksEnabled)
      throw new LoupeError(ErrorCode.BadRequest, 'webhooks are disabled on this server: set LOUPE_WEBHOOK_SECRET');
    let u: URL;
    try {
      u = new URL(job.webhookUrl);
    } catch {
      throw new LoupeError(ErrorCode.BadRequest, 'webhook_url is not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new LoupeError(ErrorCode.BadRequest, 'webhook_url must be http or https');
  }
  const res = await store.create(job);
  // Sent after the insert: if the process dies in between, the worker's sweep re-queues it.
  if (res.created) await boss.send(CLASSIFY_QUEUE, { jobId: res.id }, { singletonKey: res.id });
  return res;
}
