import type { PgBoss } from 'pg-boss';
import { LoupeError, httpStatusOf } from '../errors.ts';
import type { InferenceBackend } from '../inference/index.ts';
import type { Logger } from '../observability/index.ts';
import type { JobStore, PredictionStore } from '../storage/index.ts';
import { CLASSIFY_QUEUE, WEBHOOK_QUEUE, type ClassifyJob, type WebhookJob } from './queue.ts';
import type { WebhookPolicy } from './egress.ts';
import { deliver, WebhookError } from './webhook.ts';

export type WorkerState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped';

export interface WorkerDeps {
  readonly boss: PgBoss;
  readonly jobs: JobStore;
  readonly predictions: PredictionStore;
  readonly backend: InferenceBackend;
  readonly logger: Logger;
  readonly webhookSecret: string;
  /** Which webhook receivers may be reached (LOUPE_WEBHOOK_ALLOW); public addresses only when absent. */
  readonly webhookPolicy?: WebhookPolicy | undefined;
  readonly concurrency: number;
  /** After how long without a new image a job still being received is abandoned (its process died mid-upload). */
  readonly abandonedUploadS?: number | undefined;
}

/**
 * Takes classification jobs off the queue, classifies each image through the inference
 * backend, records predictions and per-image results, then queues the webhook. Every step is
 * idempotent, so a job re-delivered after a crash finishes where the last attempt stopped.
 */
export class JobWorker {
  private state: WorkerState = 'idle';
  private readonly deps: WorkerDeps;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(deps: WorkerDeps) {
    this.deps = deps;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'starting';
    const { boss, concurrency } = this.deps;
    await boss.work<ClassifyJob>(
      CLASSIFY_QUEUE,
      { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
      async ([job]) => this.process(job!.data.jobId),
    );
    await boss.work<WebhookJob>(WEBHOOK_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) =>
      this.webhook(job!.data.jobId),
    );
    // Re-queue jobs that lost their queue entry (e.g. a crash between insert and send).
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) => this.deps.logger.warn({ err }, 'job sweep failed'));
    }, 30_000);
    this.sweeper.unref();
    this.state = 'running';
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'draining') return;
    this.state = 'draining';
    if (this.sweeper) clearInterval(this.sweeper);
    await this.deps.boss.offWork(CLASSIFY_QUEUE, { wait: true }).catch(() => undefined);
    await this.deps.boss.offWork(WEBHOOK_QUEUE, { wait: true }).catch(() => undefined);
    this.state = 'stopped';
  }

  async process(jobId: string): Promise<void> {
    const { jobs, predictions, backend, logger, boss } = this.deps;
    const job = await jobs.get(jobId);
    if (!job || job.status === 'completed' || job.status === 'failed') return;
    await jobs.markRunning(jobId);
    const owner = await jobs.ownerOf(jobId); // the job's predictions belong to whoever submitted it
    for await (const item of jobs.pendingItems(jobId)) {
      try {
        const c = await backend.classify({
          model: job.model ?? undefined,
          version: job.version ?? undefined,
          image: item.image,
          topK: job.top_k ?? undefined,
        });
        const rec = await predictions.record(c, item.image, { metadata: job.metadata, jobId, owner });
        await jobs.settleItem(jobId, item.idx, {
          predictionId: rec.id,
          result: { model: c.model, predictions: c.predictions, image: c.image, warnings: c.warnings },
        });
      } catch (err) {
        // The image's own fault settles the item; anything else (overload, a model server
        // down) fails the attempt so the queue retries the job later.
        if (err instanceof LoupeError && httpStatusOf[err.code] < 500) {
          await jobs.settleItem(jobId, item.idx, { error: { code: err.code, message: err.message } });
        } else {
          logger.warn(
            { job: jobId, item: item.idx, err: (err as Error).message },
            'job item failed; the job will be retried',
          );
          throw err;
        }
      }
    }
    if (await jobs.complete(jobId)) {
      logger.info({ job: jobId }, 'job completed');
      if (job.webhook) await boss.send(WEBHOOK_QUEUE, { jobId });
    }
  }

  private async webhook(jobId: string): Promise<void> {
    const { jobs, logger, webhookSecret, webhookPolicy } = this.deps;
    const job = await jobs.get(jobId);
    if (!job?.webhook) return;
    try {
      const status = await deliver(job.webhook.url, webhookSecret, `job.${job.status}`, job, { policy: webhookPolicy });
      await jobs.setWebhookStatus(jobId, `delivered (${status})`);
    } catch (err) {
      // The client sees no network detail (that would make webhooks a port scanner); the log does.
      const detail = (err as Error).message;
      if (err instanceof WebhookError && err.kind === 'refused') {
        logger.warn({ job: jobId, err: detail }, 'webhook refused by the egress policy; not retried');
        await jobs.setWebhookStatus(jobId, 'refused: the webhook address is not allowed');
        return; // final: the policy does not change between retries
      }
      logger.warn({ job: jobId, err: detail }, 'webhook delivery failed; it will be retried');
      await jobs.setWebhookStatus(jobId, 'retrying: delivery failed');
      throw err;
    }
  }

  private async sweep(): Promise<void> {
    const removed = await this.deps.jobs.removeAbandoned(this.deps.abandonedUploadS ?? 3600);
    if (removed) this.deps.logger.info({ removed }, 'removed jobs whose upload never finished');
    for (const id of await this.deps.jobs.unfinished(120)) {
      await this.deps.boss.send(CLASSIFY_QUEUE, { jobId: id }, { singletonKey: id });
    }
  }
}
