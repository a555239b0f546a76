import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { sharedRead } from './scrape-read.ts';

/** Seconds; a webhook attempt is bounded by LOUPE_WEBHOOK_TIMEOUT_MS (10 s by default). */
const DELIVERY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How one webhook delivery attempt, or the decision not to make one, ended. */
export type DeliveryOutcome = 'delivered' | 'failed_retrying' | 'failed_final' | 'refused_by_policy' | 'circuit_open';
const OUTCOMES: readonly DeliveryOutcome[] = [
  'delivered',
  'failed_retrying',
  'failed_final',
  'refused_by_policy',
  'circuit_open',
];

/** The job worker's counters, made with the rest of a role's metrics. */
export function jobMetrics(registry: Registry) {
  const m = {
    jobsFinished: new Counter({
      name: 'loupe_jobs_finished_total',
      help: 'Jobs this process finished, by final status (completed: at least one image classified; failed: none)',
      labelNames: ['status'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'loupe_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (circuit_open: deferred without an attempt)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDuration: new Histogram({
      name: 'loupe_webhook_delivery_duration_seconds',
      help: 'Time of one webhook attempt (resolution, connection, answer), by outcome',
      labelNames: ['outcome'],
      buckets: DELIVERY_BUCKETS,
      registers: [registry],
    }),
  };
  // Every series exists from the start at 0, so rate() and alerts see the first event.
  for (const outcome of OUTCOMES) m.webhookDeliveries.inc({ outcome }, 0);
  for (const status of ['completed', 'failed']) m.jobsFinished.inc({ status }, 0);
  return m;
}

export interface JobBacklog {
  readonly queued: number;
  readonly running: number;
  readonly oldestQueuedS: number;
}

/** How long one backlog read serves scrapes: a few seconds, so N scrapers cost one query. */
const BACKLOG_CACHE_MS = 2000;

/**
 * Gauges read from the database when /metrics is scraped (one query on a partial index, shared
 * by the scrapes of BACKLOG_CACHE_MS), so they are true for the whole deployment whichever
 * process answers. Every role that owns the database exports them (serve, gateway, worker):
 * aggregate with max(), not sum(). Finished jobs are not counted here (they pile up and no
 * index makes counting them cheap): loupe_jobs_finished_total counts them as they finish.
 * `openCircuits`, where the role delivers webhooks, is this process's own.
 */
export function registerJobGauges(
  registry: Registry,
  read: { backlog(): Promise<JobBacklog>; openCircuits?: () => number },
  opts: { cacheMs?: number } = {},
): void {
  const backlog = sharedRead(() => read.backlog(), opts.cacheMs ?? BACKLOG_CACHE_MS);
  new Gauge({
    name: 'loupe_jobs',
    help: 'Jobs waiting (queued) and being classified (running), in the whole database',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const b = await backlog();
      if (!b) return;
      this.set({ status: 'queued' }, b.queued);
      this.set({ status: 'running' }, b.running);
    },
  });
  new Gauge({
    name: 'loupe_jobs_oldest_queued_age_seconds',
    help: 'Age of the oldest job still waiting for a worker (0 when none waits)',
    registers: [registry],
    async collect() {
      const b = await backlog();
      if (b) this.set(b.oldestQueuedS);
    },
  });
  const openCircuits = read.openCircuits;
  if (!openCircuits) return;
  new Gauge({
    name: 'loupe_webhook_circuits_open',
    help: 'Webhook receivers whose circuit is open or half-open in this process (their deliveries are deferred)',
    registers: [registry],
    collect() {
      this.set(openCircuits());
    },
  });
}
