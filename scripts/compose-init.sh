#!/usr/bin/env bash
# Creates the Compose secrets (random) and .env (from .env.example) when they do not exist.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p deploy/secrets
for s in db_password webhook_secret; do
  [ -s "deploy/secrets/$s" ] || { head -c 24 /dev/urandom | base64 | tr -d '/+=' > "deploy/secrets/$s"; chmod 644 "deploy/secrets/$s"; echo "created deploy/secrets/$s"; }
done
# The gateway's keys file (LOUPE_API_KEYS_FILE): one "<name> <scope,scope> <key>" per line,
# keys as `loupe keys create` makes them: lp_<8 hex id>_<32 random bytes, base64url>.
if [ ! -s deploy/secrets/api_keys ]; then
  id=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')
  printf '# name scopes key (see docs/security.md, "API keys")\nclient predict,read lp_%s_%s\n' "$id" "$secret" > deploy/secrets/api_keys
  chmod 644 deploy/secrets/api_keys
  echo "created deploy/secrets/api_keys: an API key (scopes predict,read) for the stack's clients;"
  echo "  send it as 'Authorization: Bearer <key>' (the third field of its last line)"
fi
