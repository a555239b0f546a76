import type { Database } from './db.ts';

/** Where a job's webhook stands; `pending` until an answer or the last attempt decides it. */
export type WebhookState = 'pending' | 'delivered' | 'failed' | 'refused';

/**
 * Why the last attempt did not deliver, in fixed words. A network error's text, or whether a
 * port answered at all, would let clients probe the network through the worker.
 */
export type WebhookProblem = 'delivery failed' | 'the webhook address is not allowed' | 'receiver circuit open';

/** What one attempt (or the decision not to make one) ends in. */
export type WebhookOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'retrying' }
  | { readonly kind: 'failed'; readonly attempts: number }
  | { readonly kind: 'refused' }
  | { readonly kind: 'deferred' };

/** A job's webhook delivery record: state, attempts and outcome, kept next to the job. */
export class JobWebhooks {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /**
   * Counts an attempt before it goes out (a process killed mid-delivery has used it), and returns
   * its number; undefined when the delivery is already decided (a duplicate queue entry).
   */
  async beginAttempt(id: string): Promise<number | undefined> {
    const { rows } = await this.db.query<{ webhook_attempts: number }>(
      `UPDATE jobs SET webhook_attempts = webhook_attempts + 1, webhook_state = 'pending', updated_at = now()
       WHERE id = $1 AND (webhook_state IS NULL OR webhook_state = 'pending') RETURNING webhook_attempts`,
      [id],
    );
    return rows[0]?.webhook_attempts;
  }

  /** Records an outcome; `status` keeps the words clients of earlier versions read. */
  async record(id: string, outcome: WebhookOutcome): Promise<void> {
    const [state, status, problem, code] = columnsOf(outcome);
    await this.db.query(
      `UPDATE jobs SET webhook_state = $2, webhook_status = COALESCE($3, webhook_status), webhook_last_error = $4,
              webhook_last_status = COALESCE($5, webhook_last_status),
              webhook_delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE webhook_delivered_at END,
              updated_at = now()
       WHERE id = $1 AND (webhook_state IS NULL OR webhook_state = 'pending')`,
      [id, state, status, problem, code],
    );
  }
}

function columnsOf(o: WebhookOutcome): [WebhookState, string | null, WebhookProblem | null, number | null] {
  switch (o.kind) {
    case 'delivered':
      return ['delivered', `delivered (${o.status})`, null, o.status];
    case 'retrying':
      return ['pending', 'retrying: delivery failed', 'delivery failed', null];
    case 'failed':
      return ['failed', `failed: not delivered after ${o.attempts} attempts`, 'delivery failed', null];
    case 'refused':
      return ['refused', 'refused: the webhook address is not allowed', 'the webhook address is not allowed', null];
    case 'deferred':
      return ['pending', null, 'receiver circuit open', null];
  }
}
