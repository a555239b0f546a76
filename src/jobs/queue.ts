import { PgBoss } from 'pg-boss';
import type { Database } from '../storage/index.ts';

export const CLASSIFY_QUEUE = 'loupe-classify';
export const WEBHOOK_QUEUE = 'loupe-webhook';

export interface ClassifyJob { jobId: string }
export interface WebhookJob { jobId: string }

/**
 * pg-boss on the same database as everything else (Postgres, or PGlite in one process).
 * Jobs are at-least-once: a job whose worker dies expires and is retried.
 */
export async function createQueue(db: Database, opts: { schema?: string; migrate: boolean; supervise: boolean }): Promise<PgBoss> {
  const boss = new PgBoss({
    db,
    ...(db.kind === 'pglite' ? { backend: 'pglite' as const } : {}),
    schema: opts.schema ?? 'pgboss',
    migrate: opts.migrate,
    supervise: opts.supervise,
    schedule: false,
  });
  boss.on('error', () => undefined); // surfaced through the worker's own logging
  await boss.start();
  if (opts.migrate) {
    for (const name of [CLASSIFY_QUEUE, WEBHOOK_QUEUE]) {
      if (!(await boss.getQueue(name))) {
        await boss.createQueue(name, name === CLASSIFY_QUEUE
          ? { retryLimit: 10, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 }
          : { retryLimit: 8, retryDelay: 2, retryBackoff: true, expireInSeconds: 60 });
      }
    }
  }
  return boss;
}
