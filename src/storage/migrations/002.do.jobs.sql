CREATE TABLE IF NOT EXISTS jobs (
  id               uuid PRIMARY KEY,
  status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  model            text,
  version          text,
  top_k            integer,
  total            integer NOT NULL,
  done             integer NOT NULL DEFAULT 0,
  failed           integer NOT NULL DEFAULT 0,
  webhook_url      text,
  webhook_status   text,
  idempotency_key  text UNIQUE,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz
);
CREATE TABLE IF NOT EXISTS job_items (
  job_id         uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  idx            integer NOT NULL,
  filename       text,
  image          bytea,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  prediction_id  uuid,
  result         jsonb,
  error          jsonb,
  PRIMARY KEY (job_id, idx)
);
