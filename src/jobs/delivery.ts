import { performance } from 'node:perf_hooks';
import type { PgBoss, SendOptions } from 'pg-boss';
import { NOOP_TRACING, type DeliveryOutcome, type Logger, type Metrics, type Tracing } from '../observability/index.ts';
import type { JobStore } from '../storage/index.ts';
import { CircuitBreakers, receiverOf, type BreakerOptions } from './breaker.ts';
import type { WebhookPolicy } from './egress.ts';
import { QueuePump } from './pump.ts';
import { WEBHOOK_QUEUE, type QueuedTrace, type WebhookJob } from './queue.ts';
import { deliver, WebhookError } from './webhook.ts';

export interface DeliveryOptions {
  readonly secret: string;
  /** Which receivers may be reached (LOUPE_WEBHOOK_ALLOW); public addresses only when absent. */
  readonly policy?: WebhookPolicy | undefined;
  readonly timeoutMs: number;
  /** Attempts per job, the first included; the last one's failure is final. */
  readonly maxAttempts: number;
  readonly retryDelayS: number;
  readonly retryDelayMaxS: number;
  /** A delivery its receiver's open circuit still defers this long after the job finished is given up. */
  readonly maxAgeS: number;
  /** Deliveries this process makes at once. */
  readonly concurrency: number;
  /** Deliveries in flight to one receiver (host:port), across every worker on the database. */
  readonly perReceiver: number;
  readonly breaker: Omit<BreakerOptions, 'now'>;
}

export interface DeliveryDeps {
  readonly boss: PgBoss;
  readonly jobs: JobStore;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'webhookDeliveries' | 'webhookDuration'> | undefined;
  readonly options: DeliveryOptions;
  /** OTEL_* tracing: a delivery continues the trace of the job it reports. */
  readonly tracing?: Tracing | undefined;
  /** For tests: the breakers' clock. */
  readonly now?: () => number;
}

/**
 * Webhook deliveries off the queue. Isolation between receivers comes from three things:
 * `concurrency` deliveries at once (one QueuePump), at most `perReceiver` of them on one
 * receiver (pg-boss groupConcurrency, one group per host:port: a receiver at its cap is skipped
 * by the fetch, not waited for), and a circuit breaker per receiver that defers a failing one's
 * deliveries without trying them. At-least-once: a queue entry is completed only once its
 * outcome is recorded, or once its successor (a deferral) is queued.
 */
export class WebhookDeliveries {
  readonly breakers: CircuitBreakers;
  private readonly deps: DeliveryDeps;
  private readonly pump: QueuePump<WebhookJob>;

  constructor(deps: DeliveryDeps) {
    this.deps = deps;
    this.breakers = new CircuitBreakers({ ...deps.options.breaker, ...(deps.now ? { now: deps.now } : {}) });
    this.pump = new QueuePump<WebhookJob>(deps.boss, {
      queue: WEBHOOK_QUEUE,
      concurrency: deps.options.concurrency,
      groupConcurrency: deps.options.perReceiver,
      pollMs: 500,
      handle: (job) => this.traced(job.jobId, job.trace),
      onError: (err) => deps.logger.warn({ err: err.message }, 'webhook queue error'),
    });
  }

  start(): void {
    this.pump.start();
  }

  /** Stops taking deliveries and waits for those in hand (each bounded by the timeout). */
  stop(): Promise<void> {
    return this.pump.stop();
  }

  /** Queues a job's webhook (now, or not before `startAfter`), in its receiver's group. */
  async enqueue(jobId: string, url: string, startAfter?: Date, trace?: QueuedTrace): Promise<void> {
    const { maxAttempts, retryDelayS, retryDelayMaxS, timeoutMs } = this.deps.options;
    const receiver = receiverOf(url);
    const options: SendOptions = {
      // Our attempt count decides when to give up; the queue's limit only bounds the odd retry
      // that is no attempt (a database error, a process killed mid-delivery).
      retryLimit: maxAttempts + 2,
      retryDelay: retryDelayS,
      // pg-boss takes a maximum only with backoff, and backs off from at least 1 s.
      ...(retryDelayS > 0 ? { retryBackoff: true, retryDelayMax: Math.max(retryDelayS, retryDelayMaxS) } : {}),
      // A worker killed mid-delivery holds the entry until it expires (then the queue's
      // supervision retries it): the attempt's timeout and a margin for its database writes.
      expireInSeconds: Math.ceil(timeoutMs / 1000) + 10,
      ...(receiver ? { group: { id: receiver } } : {}),
      ...(startAfter ? { startAfter } : {}),
    };
    await this.deps.boss.send(WEBHOOK_QUEUE, trace ? { jobId, trace } : { jobId }, options);
    if (!startAfter) this.pump.nudge();
  }

  /** One delivery as a consumer span continuing the job's trace (see JobWorker.traced). */
  private async traced(jobId: string, trace: QueuedTrace | undefined): Promise<void> {
    const tracing = this.deps.tracing ?? NOOP_TRACING;
    if (!tracing.enabled) return this.handle(jobId);
    const span = tracing.start('loupe.webhook.deliver', {
      kind: 'consumer',
      carrier: trace ?? {},
      linkCarrier: true,
      attributes: { 'messaging.system': 'pg-boss', 'messaging.destination.name': WEBHOOK_QUEUE, 'loupe.job.id': jobId },
    });
    try {
      await tracing.within(span, () => this.handle(jobId, trace));
    } catch (err) {
      span.fail(err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** One queue entry: defers, delivers, or records why not. Throws to have the queue retry it. */
  async handle(jobId: string, trace?: QueuedTrace): Promise<void> {
    const { jobs, logger, options } = this.deps;
    const job = await jobs.get(jobId);
    if (!job?.webhook || job.webhook.state !== 'pending') return; // none, or decided (a duplicate entry)
    const { url } = job.webhook;
    const receiver = receiverOf(url) ?? url;
    const admission = this.breakers.admit(receiver);
    if (!admission.go) {
      // Deferrals use no attempt, so without a bound a receiver that stays down would keep
      // its jobs pending for ever: past the age limit the open circuit is the final answer.
      const age = job.completed_at === null ? 0 : Date.now() - Date.parse(job.completed_at);
      if (age > options.maxAgeS * 1000) {
        this.count('failed_final');
        logger.warn({ job: jobId, receiver }, 'webhook given up: its receiver kept failing past the age limit');
        await jobs.webhooks.record(jobId, { kind: 'failed', attempts: job.webhook.attempts });
        return;
      }
      // Queued again for when the circuit lets a probe through; no attempt is used.
      await this.enqueue(jobId, url, new Date(admission.until + Math.random() * 250), trace);
      await jobs.webhooks.record(jobId, { kind: 'deferred' });
      this.count('circuit_open');
      logger.debug({ job: jobId, receiver }, 'webhook deferred: the receiver circuit is open');
      return;
    }
    const attempt = await jobs.webhooks.beginAttempt(jobId);
    if (attempt === undefined) return;
    const t0 = performance.now();
    try {
      const headers: Record<string, string> = {};
      this.deps.tracing?.inject(headers); // the receiver may continue the job's trace
      const status = await deliver(url, options.secret, `job.${job.status}`, job, {
        policy: options.policy,
        timeoutMs: options.timeoutMs,
        headers,
      });
      if (this.breakers.success(receiver)) logger.info({ receiver }, 'webhook receiver answers again: circuit closed');
      this.count('delivered', t0);
      await jobs.webhooks.record(jobId, { kind: 'delivered', status });
    } catch (err) {
      // The client sees no network detail (that would make webhooks a port scanner); the log does.
      const detail = (err as Error).message;
      if (err instanceof WebhookError && err.kind === 'refused') {
        this.count('refused_by_policy', t0);
        logger.warn({ job: jobId, err: detail }, 'webhook refused by the egress policy; not retried');
        await jobs.webhooks.record(jobId, { kind: 'refused' });
        return; // final: the policy does not change between retries
      }
      const openUntil = this.breakers.failure(receiver);
      if (openUntil !== undefined) {
        const until = new Date(openUntil).toISOString();
        logger.warn({ receiver, until }, 'webhook receiver keeps failing: circuit open, its deliveries are deferred');
      }
      if (attempt >= options.maxAttempts) {
        this.count('failed_final', t0);
        logger.warn({ job: jobId, attempt, err: detail }, 'webhook delivery failed; that was the last attempt');
        await jobs.webhooks.record(jobId, { kind: 'failed', attempts: attempt });
        return;
      }
      this.count('failed_retrying', t0);
      logger.warn({ job: jobId, attempt, err: detail }, 'webhook delivery failed; it will be retried');
      await jobs.webhooks.record(jobId, { kind: 'retrying' });
      throw err;
    }
  }

  private count(outcome: DeliveryOutcome, t0?: number): void {
    this.deps.tracing?.active()?.set({ 'loupe.webhook.outcome': outcome });
    this.deps.metrics?.webhookDeliveries.inc({ outcome });
    if (t0 !== undefined) this.deps.metrics?.webhookDuration.observe({ outcome }, (performance.now() - t0) / 1000);
  }
}
