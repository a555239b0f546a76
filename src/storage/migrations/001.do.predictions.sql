CREATE TABLE IF NOT EXISTS predictions (
  id            uuid PRIMARY KEY,
  model         text NOT NULL,
  version       text NOT NULL,
  predictions   jsonb NOT NULL,
  timings_ms    jsonb NOT NULL,
  image_sha256  text NOT NULL,
  image_bytes   integer NOT NULL,
  image_format  text NOT NULL,
  image_width   integer NOT NULL,
  image_height  integer NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  job_id        uuid,
  image         bytea,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS predictions_created_idx ON predictions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS predictions_model_created_idx ON predictions (model, created_at DESC, id DESC);
