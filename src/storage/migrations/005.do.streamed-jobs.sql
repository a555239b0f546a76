-- POST /jobs is stored while it arrives, so memory stays bounded whatever its size.
-- A job's row is 'receiving' until its last image is in, then 'queued' in one UPDATE. Clients
-- never see a receiving job and it is never queued; one left by a process that died mid-upload
-- is removed by the workers' sweep (the partial index keeps that look cheap).
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('receiving', 'queued', 'running', 'completed', 'failed'));
CREATE INDEX IF NOT EXISTS jobs_receiving_idx ON jobs (updated_at) WHERE status = 'receiving';
-- Images arrive, are stored and are read back in pieces of 1 MiB: no statement carries a whole
-- image (job_items.image stays for jobs stored whole). Removed when the item is settled.
CREATE TABLE IF NOT EXISTS job_item_parts (
  job_id  uuid NOT NULL,
  idx     integer NOT NULL,
  seq     integer NOT NULL,
  data    bytea NOT NULL,
  PRIMARY KEY (job_id, idx, seq),
  FOREIGN KEY (job_id, idx) REFERENCES job_items (job_id, idx) ON DELETE CASCADE
);
