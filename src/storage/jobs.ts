import { randomUUID } from 'node:crypto';
import type { Database } from './db.ts';
import { jobFingerprint, type CreatedJob, type NewJob } from './job-request.ts';
import { loadImage } from './job-images.ts';
import { StagedJob, type JobSender } from './job-staging.ts';
import { JobWebhooks } from './job-webhooks.ts';
import { toView, type ItemRow, type JobRow, type JobView } from './job-views.ts';

export type { JobItemView, JobStatus, JobView } from './job-views.ts';

/** Jobs and their images in Postgres; the queue (pg-boss) only carries job ids. */
export class JobStore {
  private readonly db: Database;
  /** Each job's webhook delivery: attempts, state and outcome. */
  readonly webhooks: JobWebhooks;

  constructor(db: Database) {
    this.db = db;
    this.webhooks = new JobWebhooks(db);
  }

  /**
   * Creates the job and all its items in one statement (atomic on Postgres and PGlite alike).
   * With an Idempotency-Key that was used before, returns the existing job instead, and says
   * whether it was made by the same request. Race-free: of concurrent requests with one key,
   * the unique index lets one INSERT through; the others wait for it to commit, insert nothing
   * (ON CONFLICT DO NOTHING) and then read the job it made.
   */
  async create(job: NewJob): Promise<CreatedJob> {
    // Only a job with a key needs its fingerprint (a request without one is never compared).
    const fingerprint = job.idempotencyKey === undefined ? null : await jobFingerprint(job);
    const scope = job.idempotencyScope ?? '';
    // Jobs are never deleted, so the job that took the key is there to read; the loop only
    // guards against one that went away in between.
    for (let attempt = 1; ; attempt++) {
      const made = await this.insert(job, fingerprint, scope);
      if (made) return { id: made, created: true };
      if (job.idempotencyKey === undefined) throw new Error('the job INSERT returned no row');
      const { rows } = await this.db.query<{ id: string; request_sha256: string | null }>(
        'SELECT id, request_sha256 FROM jobs WHERE idempotency_scope = $1 AND idempotency_key = $2',
        [scope, job.idempotencyKey],
      );
      const existing = rows[0];
      if (existing) {
        const sameRequest = existing.request_sha256 === null || existing.request_sha256 === fingerprint;
        return { id: existing.id, created: false, sameRequest };
      }
      if (attempt === 3) throw new Error('the Idempotency-Key is taken, yet no job has it');
    }
  }

  /** The INSERT of a job and its items; the new id, or undefined when the Idempotency-Key is taken. */
  private async insert(job: NewJob, fingerprint: string | null, scope: string): Promise<string | undefined> {
    const id = randomUUID();
    const { rows } = await this.db.query<{ id: string }>(
      `WITH j AS (
         INSERT INTO jobs (id, status, model, version, top_k, total, webhook_url, idempotency_key, metadata,
                           request_sha256, idempotency_scope, owner)
         VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $10, $11, $12)
         ON CONFLICT (idempotency_scope, idempotency_key) DO NOTHING
         RETURNING id
       ), items AS (
         INSERT INTO job_items (job_id, idx, filename, image)
         SELECT j.id, (x.ord - 1)::int, x.item->>'filename', decode(x.item->>'b64', 'base64')
         FROM j, jsonb_array_elements($9::jsonb) WITH ORDINALITY AS x(item, ord)
         RETURNING job_id
       )
       SELECT id FROM j`,
      [
        id,
        job.model ?? null,
        job.version ?? null,
        job.topK ?? null,
        job.images.length,
        job.webhookUrl ?? null,
        job.idempotencyKey ?? null,
        JSON.stringify(job.metadata),
        JSON.stringify(
          job.images.map((i) => ({ filename: i.filename ?? null, b64: Buffer.from(i.bytes).toString('base64') })),
        ),
        fingerprint,
        scope,
        job.owner ?? null,
      ],
    );
    return rows[0]?.id;
  }

  /** A job as clients see it; with `owner`, only if that API key made it. */
  async get(id: string, owner?: string): Promise<JobView | undefined> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM jobs WHERE id = $1 AND status <> 'receiving'${owner === undefined ? '' : ' AND owner = $2'}`,
      owner === undefined ? [id] : [id, owner],
    );
    const j = rows[0];
    if (!j) return undefined;
    const items = await this.db.query<ItemRow>(
      'SELECT idx, filename, status, prediction_id, result, error FROM job_items WHERE job_id = $1 ORDER BY idx',
      [id],
    );
    return toView(j, items.rows);
  }

  /** The API key that made the job (null when auth was off). */
  async ownerOf(id: string): Promise<string | null> {
    const { rows } = await this.db.query<{ owner: string | null }>('SELECT owner FROM jobs WHERE id = $1', [id]);
    return rows[0]?.owner ?? null;
  }

  async markRunning(id: string): Promise<void> {
    await this.db.query(`UPDATE jobs SET status = 'running', updated_at = now() WHERE id = $1 AND status = 'queued'`, [
      id,
    ]);
  }

  /** The images still to classify, read one at a time: a job may hold a gigabyte. */
  async *pendingItems(id: string): AsyncGenerator<{ idx: number; image: Buffer }> {
    const { rows } = await this.db.query<{ idx: number }>(
      `SELECT idx FROM job_items WHERE job_id = $1 AND status = 'pending' ORDER BY idx`,
      [id],
    );
    for (const { idx } of rows) {
      const image = await loadImage(this.db, id, idx);
      if (image) yield { idx, image };
    }
  }

  /** Records one item's outcome once (a re-delivered job skips items already settled). */
  async settleItem(
    id: string,
    idx: number,
    outcome: { predictionId: string; result: unknown } | { error: { code: string; message: string } },
  ): Promise<void> {
    const ok = 'predictionId' in outcome;
    await this.db.query(
      `WITH it AS (
         UPDATE job_items SET status = $3, prediction_id = $4, result = $5, error = $6, image = NULL
         WHERE job_id = $1 AND idx = $2 AND status = 'pending' RETURNING status
       ), pieces AS (DELETE FROM job_item_parts WHERE job_id = $1 AND idx = $2)
       UPDATE jobs SET done = done + (SELECT count(*) FROM it WHERE status = 'done'),
                       failed = failed + (SELECT count(*) FROM it WHERE status = 'failed'), updated_at = now()
       WHERE id = $1`,
      [
        id,
        idx,
        ok ? 'done' : 'failed',
        ok ? outcome.predictionId : null,
        ok ? JSON.stringify(outcome.result) : null,
        ok ? null : JSON.stringify(outcome.error),
      ],
    );
  }

  /** Completes the job if every item is settled; returns its final status when this call completed it. */
  async complete(id: string): Promise<'completed' | 'failed' | undefined> {
    const { rows } = await this.db.query<{ status: 'completed' | 'failed' }>(
      `UPDATE jobs SET status = CASE WHEN failed = total THEN 'failed' ELSE 'completed' END, completed_at = now(), updated_at = now()
       WHERE id = $1 AND status IN ('queued', 'running') AND done + failed = total RETURNING status`,
      [id],
    );
    return rows[0]?.status;
  }

  /** Jobs waiting and running, and the age of the oldest waiting one (metrics; reads a partial index). */
  async backlog(): Promise<{ queued: number; running: number; oldestQueuedS: number }> {
    const { rows } = await this.db.query<{ status: string; n: number; age: number | null }>(
      `SELECT status, count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS age
       FROM jobs WHERE status IN ('queued', 'running') GROUP BY status`,
    );
    const of = (status: string) => rows.find((r) => r.status === status);
    return { queued: of('queued')?.n ?? 0, running: of('running')?.n ?? 0, oldestQueuedS: of('queued')?.age ?? 0 };
  }

  /** Starts a job whose images are stored as they arrive (POST /jobs streams them). */
  stage(sender: JobSender): Promise<StagedJob> {
    return StagedJob.begin(this.db, sender);
  }

  /** Removes jobs left 'receiving' by a process that died mid-upload; returns how many. */
  async removeAbandoned(idleS: number): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `DELETE FROM jobs WHERE status = 'receiving' AND updated_at < now() - make_interval(secs => $1) RETURNING id`,
      [idleS],
    );
    return rows.length;
  }

  /** Jobs that should be in the queue but may have been lost (crash between insert and send). */
  async unfinished(olderThanS: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM jobs WHERE status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 100`,
      [olderThanS],
    );
    return rows.map((r) => r.id);
  }
}
