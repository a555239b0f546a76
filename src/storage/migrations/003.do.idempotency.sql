-- Idempotency-Key as draft-ietf-httpapi-idempotency-key-header has it: a job made with a key
-- keeps the SHA-256 fingerprint of the request that made it, so the key sent again with a
-- different request is refused (422) instead of answering with the first job. Jobs made
-- before this migration have none, and a repeat of their key still gets the job.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS request_sha256 text;
-- Whose key it is: '' (anonymous) until there are API keys, then the API key's id, so two
-- clients may use the same Idempotency-Key. Keys are unique per scope.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS idempotency_scope text NOT NULL DEFAULT '';
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_idempotency_key_key;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency_key_idx ON jobs (idempotency_scope, idempotency_key);
