#!/usr/bin/env bash
# Creates the Compose secrets (random) and .env (from .env.example) when they do not exist.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p deploy/secrets
for s in db_password webhook_secret; do
  [ -s "deploy/secrets/$s" ] || { head -c 24 /dev/urandom | base64 | tr -d '/+=' > "deploy/secrets/$s"; chmod 644 "deploy/secrets/$s"; echo "created deploy/secrets/$s"; }
done
