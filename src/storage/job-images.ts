import type { Hash } from 'node:crypto';
import type { Database } from './db.ts';

/**
 * Job images are stored in pieces of this size (job_item_parts), written as the upload arrives
 * and read back one at a time: no statement carries more than a piece, whatever the image's
 * size. One 20 MiB statement costs far more than its bytes — PGlite's heap grows for good to
 * hold it, and its text form is copied several times on the way — so a job of large images
 * would otherwise cost hundreds of MB however carefully it was received.
 */
export const IMAGE_PIECE_BYTES = 1024 * 1024;

/**
 * Stores one image of a job as its chunks arrive, in pieces; returns its size. `hash` (the
 * request fingerprint's) is fed every byte. Without `jobId` nothing is stored, the image is
 * only hashed (a repeated Idempotency-Key).
 */
export async function storeImage(
  db: Database,
  target: { jobId: string; idx: number; filename: string | undefined } | undefined,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  hash: Hash | undefined,
): Promise<number> {
  if (target)
    await db.query(
      `WITH item AS (INSERT INTO job_items (job_id, idx, filename) VALUES ($1, $2, $3) RETURNING job_id)
       UPDATE jobs SET updated_at = now() WHERE id = (SELECT job_id FROM item)`,
      [target.jobId, target.idx, target.filename ?? null],
    );
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let size = 0;
  const flush = async () => {
    if (!target || pendingBytes === 0) return;
    const piece = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    // base64 text, decoded by the database: PGlite turns a bytea parameter into hex one byte at a time.
    // Each piece also marks the job as alive, so the sweep of abandoned uploads spares a slow one.
    await db.query(
      `WITH part AS (INSERT INTO job_item_parts (job_id, idx, seq, data) VALUES ($1, $2, $3, decode($4, 'base64')) RETURNING job_id)
       UPDATE jobs SET updated_at = now() WHERE id = (SELECT job_id FROM part)`,
      [target.jobId, target.idx, seq++, piece.toString('base64')],
    );
  };
  for await (const chunk of chunks) {
    hash?.update(chunk);
    size += chunk.length;
    if (!target) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= IMAGE_PIECE_BYTES) await flush();
  }
  await flush();
  return size;
}

/** One stored image of a job, put together from its pieces (or its single column, for jobs stored whole). */
export async function loadImage(db: Database, jobId: string, idx: number): Promise<Buffer | undefined> {
  // base64: PGlite parses a bytea result one byte at a time
  const { rows } = await db.query<{ b64: string | null; pieces: number }>(
    `SELECT encode(image, 'base64') AS b64,
            (SELECT count(*)::int FROM job_item_parts p WHERE p.job_id = i.job_id AND p.idx = i.idx) AS pieces
     FROM job_items i WHERE job_id = $1 AND idx = $2 AND status = 'pending'`,
    [jobId, idx],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.b64 !== null) return Buffer.from(row.b64, 'base64');
  const pieces: Buffer[] = [];
  for (let seq = 0; seq < row.pieces; seq++) {
    const piece = await db.query<{ b64: string }>(
      `SELECT encode(data, 'base64') AS b64 FROM job_item_parts WHERE job_id = $1 AND idx = $2 AND seq = $3`,
      [jobId, idx, seq],
    );
    if (!piece.rows[0]) return undefined; // settled (and its pieces removed) meanwhile
    pieces.push(Buffer.from(piece.rows[0].b64, 'base64'));
  }
  return Buffer.concat(pieces);
}
