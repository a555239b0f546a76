-- The request that made a prediction (its X-Request-Id, as every log line of that request
-- carries it): a log line leads to the record, and a record to its log lines. Null for
-- predictions made before this column and for a job's items (they carry job_id).
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS request_id text;
CREATE INDEX IF NOT EXISTS predictions_request_id_idx ON predictions (request_id) WHERE request_id IS NOT NULL;
