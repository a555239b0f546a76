import { PgBoss } from 'pg-boss';
import type { Database } from '../storage/index.ts';

export const CLASSIFY_QUEUE = 'loupe-classify';
export const WEBHOOK_QUEUE = 'loupe-webhook';

/**
 * The W3C trace context (traceparent, tracestate) of whoever queued an entry, when tracing is
 * on: its consumer continues that trace. Kept in the queue entry, not the job's row: a job
 * re-queued by the sweep starts a new trace, and no migration is needed.
 */
export type QueuedTrace = Record<string, string>;

export interface ClassifyJob {
  jobId: string;
  trace?: QueuedTrace;
}
export interface WebhookJob {
  jobId: string;
  trace?: QueuedTrace;
}

/**
 * A worker that dies or loses the database mid-job stops its heartbeat; the job is then
 * retried within ~heartbeatSeconds + the supervise interval, not after the expiry.
 */
const QUEUES = {
  [CLASSIFY_QUEUE]: {
    retryLimit: 20,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 30,
    expireInSeconds: 900,
    heartbeatSeconds: 10,
  },
  // Only a fallback: each webhook entry carries the sending worker's LOUPE_WEBHOOK_* retry and
  // expiry options (WebhookDeliveries.enqueue), so the worker's configuration decides, not migrate's.
  [WEBHOOK_QUEUE]: { retryLimit: 8, retryDelay: 2, retryBackoff: true, retryDelayMax: 300, expireInSeconds: 60 },
};

/**
 * pg-boss on the same database as everything else (Postgres, or PGlite in one process).
 * Jobs are at-least-once: a job whose worker dies expires and is retried.
 */
export async function createQueue(
  db: Database,
  opts: { schema?: string; migrate: boolean; supervise: boolean; superviseIntervalSeconds?: number },
): Promise<PgBoss> {
  const boss = new PgBoss({
    db,
    ...(db.kind === 'pglite' ? { backend: 'pglite' as const } : {}),
    schema: opts.schema ?? 'pgboss',
    migrate: opts.migrate,
    supervise: opts.supervise,
    schedule: false,
    // Expired heartbeats are what hand a dead worker's job to another: look often.
    superviseIntervalSeconds: opts.superviseIntervalSeconds ?? 10,
    monitorIntervalSeconds: opts.superviseIntervalSeconds ?? 10,
  });
  boss.on('error', () => undefined); // surfaced through the worker's own logging
  await boss.start();
  if (opts.migrate) {
    for (const [name, options] of Object.entries(QUEUES)) {
      if (await boss.getQueue(name)) await boss.updateQueue(name, options);
      else await boss.createQueue(name, options);
    }
  }
  return boss;
}
