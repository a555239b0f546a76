#!/usr/bin/env bash
# Runs a command that leaves a daemon behind (pg_ctlcluster start, dockerd) with only
# stdin/stdout/stderr open. A daemon that inherits any other descriptor of its caller (a
# $(...) pipe, a CI runner's log pipe) keeps that pipe open for as long as it runs, and
# whoever reads the pipe waits for an end of file that never comes.
# Usage: bash scripts/detached.sh <command> [args...]
set -euo pipefail
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
exec "$@"
