import type { PgBoss } from 'pg-boss';
import { LoupeError, httpStatusOf } from '../errors.ts';
import type { InferenceBackend } from '../inference/index.ts';
import { NOOP_TRACING, type Logger, type Metrics, type Tracing } from '../observability/index.ts';
import type { JobStore, JobView, PredictionStore } from '../storage/index.ts';
import type { WebhookDeliveries } from './delivery.ts';
import { CLASSIFY_QUEUE, type ClassifyJob, type QueuedTrace } from './queue.ts';
import type { ServiceState } from '../lifecycle/index.ts';

export interface WorkerDeps {
  readonly boss: PgBoss;
  readonly jobs: JobStore;
  readonly predictions: PredictionStore;
  readonly backend: InferenceBackend;
  readonly logger: Logger;
  /** Delivers the webhooks of finished jobs. */
  readonly webhooks: WebhookDeliveries;
  readonly metrics?: Pick<Metrics, 'jobsFinished'> | undefined;
  /** OTEL_* tracing: a job continues its submitter's trace. */
  readonly tracing?: Tracing | undefined;
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
  private state: ServiceState = 'created';
  private readonly deps: WorkerDeps;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(deps: WorkerDeps) {
    this.deps = deps;
  }

  async start(): Promise<void> {
    if (this.state !== 'created') return;
    this.state = 'starting';
    const { boss, concurrency } = this.deps;
    await boss.work<ClassifyJob>(
      CLASSIFY_QUEUE,
      { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
      async ([job]) => this.traced(job!.data.jobId, job!.data.trace),
    );
    this.deps.webhooks.start();
    // Re-queue jobs that lost their queue entry (e.g. a crash between insert and send).
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) => this.deps.logger.warn({ err }, 'job sweep failed'));
    }, 30_000);
    this.sweeper.unref();
    this.state = 'running';
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.sweeper) clearInterval(this.sweeper);
    await this.deps.boss.offWork(CLASSIFY_QUEUE, { wait: true }).catch(() => undefined);
    await this.deps.webhooks.stop();
    this.state = 'stopped';
  }

  /**
   * One job as a consumer span under its submitter's span, and linked to it, as the messaging
   * semantic conventions have it for one message: the link is what they require (it survives a
   * backend that keeps traces apart), the parent keeps the job in the request's trace.
   */
  private async traced(jobId: string, trace: QueuedTrace | undefined): Promise<void> {
    const tracing = this.deps.tracing ?? NOOP_TRACING;
    if (!tracing.enabled) return this.process(jobId);
    const span = tracing.start('loupe.job', {
      kind: 'consumer',
      carrier: trace ?? {},
      linkCarrier: true,
      attributes: {
        'messaging.system': 'pg-boss',
        'messaging.destination.name': CLASSIFY_QUEUE,
        'loupe.job.id': jobId,
      },
    });
    try {
      await tracing.within(span, () => this.process(jobId));
    } catch (err) {
      span.fail(err);
      throw err;
    } finally {
      span.end();
    }
  }

  async process(jobId: string): Promise<void> {
    const { jobs, predictions, backend, logger } = this.deps;
    const job = await jobs.get(jobId);
    if (!job) return;
    if (job.status === 'completed' || job.status === 'failed') return this.webhookLost(job);
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
    const status = await jobs.complete(jobId);
    if (status) {
      logger.info({ job: jobId, status }, 'job finished');
      this.deps.metrics?.jobsFinished.inc({ status });
      if (job.webhook) await this.deps.webhooks.enqueue(jobId, job.webhook.url, undefined, this.traceOut());
    }
  }

  /** The active span's context for the webhook entry; undefined when tracing is off. */
  private traceOut(): QueuedTrace | undefined {
    const carrier: QueuedTrace = {};
    (this.deps.tracing ?? NOOP_TRACING).inject(carrier);
    return Object.keys(carrier).length ? carrier : undefined;
  }

  /**
   * A finished job handed out again: its worker died after completing it, perhaps before its
   * webhook was queued. One not yet tried is queued (again, at worst: deliveries are at-least-once).
   */
  private async webhookLost(job: JobView): Promise<void> {
    if (job.webhook?.state === 'pending' && job.webhook.attempts === 0)
      await this.deps.webhooks.enqueue(job.id, job.webhook.url);
  }

  private async sweep(): Promise<void> {
    const removed = await this.deps.jobs.removeAbandoned(this.deps.abandonedUploadS ?? 3600);
    if (removed) this.deps.logger.info({ removed }, 'removed jobs whose upload never finished');
    for (const id of await this.deps.jobs.unfinished(120)) {
      await this.deps.boss.send(CLASSIFY_QUEUE, { jobId: id }, { singletonKey: id });
    }
  }
}
