-- API keys (`loupe keys`, LOUPE_API_KEYS_FILE). Only the SHA-256 of a key is stored; `id` is
-- the public part of the key (lp_<id>_<secret>). Keys are revoked, never deleted, so a
-- record's owner always names a key that existed.
CREATE TABLE IF NOT EXISTS api_keys (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['predict', 'read', 'admin']),
  key_sha256    text NOT NULL UNIQUE,
  source        text NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'file')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
-- Who made a record: the API key's id; NULL when auth was off (then only admin keys see it).
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS owner text;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner text;
-- GET /predictions of one key, newest first.
CREATE INDEX IF NOT EXISTS predictions_owner_created_idx ON predictions (owner, created_at DESC, id DESC);
