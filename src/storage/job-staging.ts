import { createHash, randomUUID } from 'node:crypto';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { Database } from './db.ts';
import { storeImage } from './job-images.ts';
import { requestFingerprint, type CreatedJob, type JobRequest } from './job-request.ts';

/** Who is sending a job, known before its images: the Idempotency-Key, its scope and the job's owner. */
export interface JobSender {
  readonly idempotencyKey?: string | undefined;
  readonly idempotencyScope?: string | undefined;
  readonly owner?: string | null | undefined;
}

/**
 * A job whose images are still arriving. Each image is stored as it is read, piece by piece
 * (job-images.ts), so receiving a job holds about one piece in memory, whatever the size of its
 * images or their number. Its row is 'receiving' — invisible to clients, never queued — until
 * finish() turns it into a queued job in one UPDATE, which is also when it takes its
 * Idempotency-Key; discard() removes it with its images. A process that dies mid-upload leaves
 * a receiving row, which the workers' sweep removes (JobStore.removeAbandoned).
 *
 * With an Idempotency-Key that already has a job, nothing is stored: the images are only hashed,
 * to tell the same request sent again (the first job) from a different one (refused).
 */
export class StagedJob {
  private readonly db: Database;
  private readonly sender: JobSender;
  /** The receiving row; undefined when the key's job already existed (nothing is stored). */
  private id: string | undefined;
  private readonly digests: string[] = [];
  private images = 0;

  private constructor(db: Database, sender: JobSender, id: string | undefined) {
    this.db = db;
    this.sender = sender;
    this.id = id;
  }

  static async begin(db: Database, sender: JobSender): Promise<StagedJob> {
    const scope = sender.idempotencyScope ?? '';
    if (sender.idempotencyKey !== undefined) {
      const { rows } = await db.query('SELECT 1 FROM jobs WHERE idempotency_scope = $1 AND idempotency_key = $2', [
        scope,
        sender.idempotencyKey,
      ]);
      if (rows.length) return new StagedJob(db, sender, undefined);
    }
    const id = randomUUID();
    await db.query(
      `INSERT INTO jobs (id, status, total, idempotency_scope, owner) VALUES ($1, 'receiving', 0, $2, $3)`,
      [id, scope, sender.owner ?? null],
    );
    return new StagedJob(db, sender, id);
  }

  /** Images received so far. */
  get count(): number {
    return this.images;
  }

  /**
   * Stores the next image as its chunks arrive (and hashes it when there is an Idempotency-Key);
   * returns its size. A chunk source that throws (a limit, a broken upload) leaves a partial
   * image: the caller discards the job.
   */
  async addImage(
    filename: string | undefined,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<number> {
    const idx = this.images++;
    const hash = this.sender.idempotencyKey === undefined ? undefined : createHash('sha256');
    const target = this.id === undefined ? undefined : { jobId: this.id, idx, filename };
    const size = await storeImage(this.db, target, chunks, hash);
    if (hash) this.digests.push(hash.digest('hex'));
    return size;
  }

  /** addImage for an image already in memory. */
  add(filename: string | undefined, bytes: Uint8Array): Promise<number> {
    return this.addImage(filename, [bytes]);
  }

  /**
   * Makes the job: queued with its request, or — when its Idempotency-Key has a job already,
   * found at begin() or made by a concurrent request meanwhile — that job, with whether it was
   * made by the same request. The caller queues a created job.
   */
  async finish(request: JobRequest): Promise<CreatedJob> {
    const key = this.sender.idempotencyKey;
    const fingerprint = key === undefined ? null : requestFingerprint(request, this.digests);
    if (this.id !== undefined) {
      try {
        const { rows } = await this.db.query<{ id: string }>(
          `UPDATE jobs SET status = 'queued', model = $2, version = $3, top_k = $4, total = $5, webhook_url = $6,
                           metadata = $7, idempotency_key = $8, request_sha256 = $9, updated_at = now()
           WHERE id = $1 AND status = 'receiving' RETURNING id`,
          [
            this.id,
            request.model ?? null,
            request.version ?? null,
            request.topK ?? null,
            this.images,
            request.webhookUrl ?? null,
            JSON.stringify(request.metadata),
            key ?? null,
            fingerprint,
          ],
        );
        if (!rows[0]) {
          // Swept as abandoned (a worker with a shorter LOUPE_REQUEST_TIMEOUT_MS): the client may send it again.
          throw new LoupeError(ErrorCode.NotReady, 'the job was removed while it was being received; send it again', {
            retryAfterS: 1,
          });
        }
        return { id: this.id, created: true };
      } catch (err) {
        // 23505 unique_violation: a concurrent request with the same key made its job first.
        if (key === undefined || (err as { code?: string }).code !== '23505') throw err;
        await this.discard();
      }
    }
    const { rows } = await this.db.query<{ id: string; request_sha256: string | null }>(
      'SELECT id, request_sha256 FROM jobs WHERE idempotency_scope = $1 AND idempotency_key = $2',
      [this.sender.idempotencyScope ?? '', key],
    );
    const existing = rows[0];
    if (!existing) throw new Error('the Idempotency-Key is taken, yet no job has it');
    const sameRequest = existing.request_sha256 === null || existing.request_sha256 === fingerprint;
    return { id: existing.id, created: false, sameRequest };
  }

  /** Removes the job being received and its images (a refused or broken upload leaves nothing). */
  async discard(): Promise<void> {
    const id = this.id;
    this.id = undefined;
    if (id !== undefined) await this.db.query(`DELETE FROM jobs WHERE id = $1 AND status = 'receiving'`, [id]);
  }
}
