#!/usr/bin/env bash
# Starts Debian's PostgreSQL for the integration tests (no systemd here) and prints the URL
# of a fresh database. Usage: export LOUPE_TEST_DATABASE_URL=$(bash scripts/test-postgres.sh)
set -euo pipefail

# Only the URL goes to stdout: pg_ctlcluster and friends chat ("Removed stale pid file.").
# Everything else runs inside start_db with stdout sent to stderr. Not `exec 3>&1`: the
# server that pg_ctlcluster starts would inherit fd 3, and a caller's $(...) would wait for
# that pipe to close for as long as PostgreSQL runs (CI hung there for 90 minutes).
start_db() {
  if ! command -v pg_lsclusters >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  read -r ver cluster port status _ < <(pg_lsclusters --no-header | head -1)
  if [ -z "${ver:-}" ]; then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1); cluster=main
    pg_createcluster "$ver" "$cluster" >/dev/null
    read -r ver cluster port status _ < <(pg_lsclusters --no-header | head -1)
  fi
  [ "$status" = online ] || bash "$(dirname "$0")/detached.sh" pg_ctlcluster "$ver" "$cluster" start </dev/null
  for _ in $(seq 1 30); do su postgres -c "pg_isready -q -p $port" && break; sleep 0.5; done
  su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_roles WHERE rolname='loupe'\" | grep -q 1 || psql -q -p $port -c \"CREATE ROLE loupe LOGIN PASSWORD 'loupe-test'\"" >/dev/null
  su postgres -c "psql -q -p $port -c 'DROP DATABASE IF EXISTS loupe_test' -c 'CREATE DATABASE loupe_test OWNER loupe'" >/dev/null
}
start_db >&2
read -r _ _ port _ < <(pg_lsclusters --no-header | head -1)
echo "postgres://loupe:loupe-test@127.0.0.1:$port/loupe_test"
