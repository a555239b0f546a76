import { createHash, randomUUID } from 'node:crypto';
import type { Classification } from '../inference/index.ts';
import type { Database } from './db.ts';
import { GroupWriter } from './group-commit.ts';
import { canonicalTimestamp, cursorTimestampSql, decodeCursor, encodeCursor } from './timestamps.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import { NOOP_TRACING, type Tracing } from '../observability/index.ts';

export interface PredictionRecord {
  readonly id: string;
  readonly model: { name: string; version: string };
  readonly predictions: Classification['predictions'];
  readonly timings_ms: Classification['timings_ms'];
  readonly image: { sha256: string; bytes: number; format: string; width: number; height: number };
  readonly metadata: Record<string, string>;
  readonly job_id: string | null;
  /** The X-Request-Id of the request that made it (null for a job's items). */
  readonly request_id: string | null;
  readonly created_at: string;
}

interface Row {
  id: string;
  model: string;
  version: string;
  predictions: Classification['predictions'];
  timings_ms: Classification['timings_ms'];
  image_sha256: string;
  image_bytes: number;
  image_format: string;
  image_width: number;
  image_height: number;
  metadata: Record<string, string>;
  job_id: string | null;
  request_id: string | null;
  created_at: Date | string;
  cursor_ts?: string;
}

const toRecord = (r: Row): PredictionRecord => ({
  id: r.id,
  model: { name: r.model, version: r.version },
  predictions: r.predictions,
  timings_ms: r.timings_ms,
  image: {
    sha256: r.image_sha256,
    bytes: r.image_bytes,
    format: r.image_format,
    width: r.image_width,
    height: r.image_height,
  },
  metadata: r.metadata,
  job_id: r.job_id,
  request_id: r.request_id,
  created_at: new Date(r.created_at).toISOString(),
});

export interface ListQuery {
  readonly model?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit: number;
  /** Opaque cursor from the previous page. */
  readonly cursor?: string | undefined;
  /** Only the records of this API key (undefined: everyone's). */
  readonly owner?: string | undefined;
  /** Only the record(s) made by the request with this id. */
  readonly request_id?: string | undefined;
}

const INSERT_COLUMNS =
  'id, model, version, predictions, timings_ms, image_sha256, image_bytes, image_format, image_width, image_height, metadata, job_id, image, owner, request_id';
/** What a record shows: every column but the image bytes. */
const RECORD_COLUMNS =
  'id, model, version, predictions, timings_ms, image_sha256, image_bytes, image_format, image_width, image_height, metadata, job_id, request_id, created_at';

/** Prediction history: every classification, without the image bytes unless asked to keep them. */
export class PredictionStore {
  private readonly db: Database;
  private readonly keepImages: boolean;
  private readonly tracing: Tracing;
  /** Concurrent requests' records go into one INSERT (group commit). */
  private readonly writer: GroupWriter<unknown[], Row>;

  constructor(db: Database, opts: { keepImages: boolean; tracing?: Tracing | undefined }) {
    this.db = db;
    this.keepImages = opts.keepImages;
    this.tracing = opts.tracing ?? NOOP_TRACING;
    this.writer = new GroupWriter({ writeRows: (rows) => this.insert(rows), maxRows: 64 });
  }

  /**
   * Stores one classification. `id` lets the caller answer with the id before the write
   * lands (and makes a retried write keep the first record); `jobId` links a job's items;
   * `owner` is the API key that made it (null when auth is off); `requestId` the request's id.
   */
  async record(
    c: Classification,
    image: Uint8Array,
    opts: {
      metadata: Record<string, string>;
      jobId?: string | undefined;
      id?: string | undefined;
      owner?: string | null | undefined;
      requestId?: string | undefined;
    },
  ): Promise<PredictionRecord> {
    const { metadata, jobId, id = randomUUID(), owner = null, requestId = null } = opts;
    const attributes = {
      'loupe.model': c.model.name,
      'loupe.model.version': c.model.version,
      'db.operation.name': 'INSERT',
    };
    // The span covers the wait for the group's INSERT as well: that wait is what the request pays.
    return this.tracing.span('loupe.history.write', attributes, () =>
      this.write(c, image, { metadata, jobId, id, owner, requestId }),
    );
  }

  private async write(
    c: Classification,
    image: Uint8Array,
    opts: {
      metadata: Record<string, string>;
      jobId: string | undefined;
      id: string;
      owner: string | null;
      requestId: string | null;
    },
  ): Promise<PredictionRecord> {
    const { metadata, jobId, id, owner, requestId } = opts;
    const sha = createHash('sha256').update(image).digest('hex');
    return toRecord(
      await this.writer.write([
        id,
        c.model.name,
        c.model.version,
        JSON.stringify(c.predictions),
        JSON.stringify(c.timings_ms),
        sha,
        image.byteLength,
        c.image.format,
        c.image.width,
        c.image.height,
        JSON.stringify(metadata),
        jobId ?? null,
        this.keepImages ? Buffer.from(image) : null,
        owner,
        requestId,
      ]),
    );
  }

  /** One INSERT for any number of rows; recording the same id again keeps the first record. */
  private async insert(rows: unknown[][]): Promise<Row[]> {
    const params: unknown[] = [];
    const values = rows.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
    const { rows: stored } = await this.db.query<Row>(
      `INSERT INTO predictions (${INSERT_COLUMNS}) VALUES ${values.join(', ')}
       ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
       RETURNING ${RECORD_COLUMNS}`,
      params,
    );
    // RETURNING's order is not promised to follow VALUES: match rows by id.
    const byId = new Map(stored.map((r) => [r.id.toLowerCase(), r]));
    return rows.map((row) => {
      const r = byId.get(String(row[0]).toLowerCase());
      if (!r) throw new Error(`INSERT returned no row for prediction ${String(row[0])}`);
      return r;
    });
  }

  /** One record; with `owner`, only if that API key made it. */
  async get(id: string, owner?: string): Promise<PredictionRecord | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${RECORD_COLUMNS} FROM predictions WHERE id = $1${owner === undefined ? '' : ' AND owner = $2'}`,
      owner === undefined ? [id] : [id, owner],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Newest first, keyset-paged on (created_at, id) so pages stay stable while rows arrive.
   * Filters and cursors are checked here, before SQL: a bad one is a 400 (BAD_REQUEST), never a failed cast.
   */
  async list(q: ListQuery): Promise<{ items: PredictionRecord[]; next_cursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.model?.includes('\0')) throw new LoupeError(ErrorCode.BadRequest, 'model must not contain NUL characters');
    if (q.model) add('model = ?', q.model);
    if (q.owner !== undefined) add('owner = ?', q.owner);
    if (q.request_id !== undefined) add('request_id = ?', q.request_id);
    if (q.since) add('created_at >= ?::timestamptz', timestampParam('since', q.since));
    if (q.until) add('created_at < ?::timestamptz', timestampParam('until', q.until));
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new LoupeError(ErrorCode.BadRequest, 'cursor is not a next_cursor this API returned');
      params.push(c.timestamp, c.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(q.limit + 1);
    const { rows } = await this.db.query<Row>(
      `SELECT ${RECORD_COLUMNS}, ${cursorTimestampSql('created_at')} AS cursor_ts
       FROM predictions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, q.limit).map(toRecord);
    const last = rows.length > q.limit ? rows[q.limit - 1] : undefined;
    // the cursor keeps Postgres' microseconds: a JS Date would round them away and skip rows
    const next = last ? encodeCursor(last.cursor_ts!, last.id) : null;
    return { items, next_cursor: next };
  }
}

/** A client's since/until in the canonical UTC form, or a 400 naming the parameter. */
function timestampParam(name: string, value: string): string {
  const ts = canonicalTimestamp(value);
  if (!ts)
    throw new LoupeError(
      ErrorCode.BadRequest,
      `${name} must be an RFC 3339 date-time between the years 0001 and 9999, such as 2024-05-01T12:00:00Z`,
    );
  return ts;
}
