-- A job's webhook delivery as clients follow it to the end: the state ('pending' until the last
-- attempt decides it), how many attempts went out, a fixed-word reason for the last failure
-- (never a network error's text) and when it was delivered. webhook_status keeps the old words.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_state text
  CHECK (webhook_state IN ('pending', 'delivered', 'failed', 'refused'));
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_last_error text;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_last_status integer;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_delivered_at timestamptz;
-- Jobs still to do stay few while finished ones pile up: the metrics' backlog look (count and
-- oldest per state, on every scrape) reads only this partial index.
CREATE INDEX IF NOT EXISTS jobs_backlog_idx ON jobs (status, created_at) WHERE status IN ('queued', 'running');
-- Jobs from before this migration: what their status words already decided stays decided.
UPDATE jobs SET webhook_state = CASE WHEN webhook_status LIKE 'delivered (%' THEN 'delivered' ELSE 'refused' END,
                webhook_last_status = CASE WHEN webhook_status ~ '^delivered \([0-9]{3}\)$'
                                           THEN substring(webhook_status FROM 12 FOR 3)::integer END
  WHERE webhook_state IS NULL AND (webhook_status LIKE 'delivered (%' OR webhook_status LIKE 'refused:%');
-- 'retrying' was final in earlier versions once pg-boss ran out of retries (about 9 minutes of
-- backoff): a job completed over an hour ago with that status will never be delivered, so it is
-- failed for good, else clients polling until the state is final would poll forever. A newer one
-- may still have a retry queued, which the new delivery code finishes and records.
UPDATE jobs SET webhook_state = 'failed', webhook_last_error = 'delivery failed'
  WHERE webhook_state IS NULL AND webhook_status LIKE 'retrying:%'
    AND completed_at IS NOT NULL AND completed_at < now() - interval '1 hour';
