import type { WebhookState } from './job-webhooks.ts';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface JobItemView {
  readonly index: number;
  readonly filename: string | null;
  readonly status: 'pending' | 'done' | 'failed';
  readonly prediction_id: string | null;
  readonly result: unknown;
  readonly error: { code: string; message: string } | null;
}

export interface JobView {
  readonly id: string;
  readonly status: JobStatus;
  readonly model: string | null;
  readonly version: string | null;
  readonly top_k: number | null;
  readonly progress: { total: number; done: number; failed: number };
  readonly webhook: WebhookView | null;
  readonly metadata: Record<string, string>;
  readonly created_at: string;
  readonly updated_at: string;
  readonly completed_at: string | null;
  readonly items: JobItemView[];
}

/**
 * A job's webhook as clients follow it. `state` is final once it is not `pending`: after the
 * receiver's 2xx, a policy refusal, or the last attempt. `status` keeps the earlier words.
 */
export interface WebhookView {
  readonly url: string;
  readonly status: string | null;
  readonly state: WebhookState;
  readonly attempts: number;
  readonly last_error: string | null;
  /** The receiver's 2xx answer; a failing receiver's status is not shown (it would map the network). */
  readonly last_status: number | null;
  readonly delivered_at: string | null;
}

export interface JobRow {
  id: string;
  status: JobStatus;
  model: string | null;
  version: string | null;
  top_k: number | null;
  total: number;
  done: number;
  failed: number;
  webhook_url: string | null;
  webhook_status: string | null;
  webhook_state: WebhookState | null;
  webhook_attempts: number;
  webhook_last_error: string | null;
  webhook_last_status: number | null;
  webhook_delivered_at: Date | string | null;
  metadata: Record<string, string>;
  created_at: Date | string;
  updated_at: Date | string;
  completed_at: Date | string | null;
}
export interface ItemRow {
  idx: number;
  filename: string | null;
  status: JobItemView['status'];
  prediction_id: string | null;
  result: unknown;
  error: JobItemView['error'];
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A job as `GET /jobs/{id}` shows it: its row and its items' rows. */
export function toView(j: JobRow, items: ItemRow[]): JobView {
  return {
    id: j.id,
    status: j.status,
    model: j.model,
    version: j.version,
    top_k: j.top_k,
    progress: { total: j.total, done: j.done, failed: j.failed },
    webhook: j.webhook_url
      ? {
          url: j.webhook_url,
          status: j.webhook_status,
          state: j.webhook_state ?? 'pending',
          attempts: j.webhook_attempts,
          last_error: j.webhook_last_error,
          last_status: j.webhook_last_status,
          delivered_at: iso(j.webhook_delivered_at),
        }
      : null,
    metadata: j.metadata,
    created_at: iso(j.created_at)!,
    updated_at: iso(j.updated_at)!,
    completed_at: iso(j.completed_at),
    items: items.map((r) => ({
      index: r.idx,
      filename: r.filename,
      status: r.status,
      prediction_id: r.prediction_id,
      result: r.result,
      error: r.error,
    })),
  };
}
