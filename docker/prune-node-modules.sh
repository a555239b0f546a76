#!/bin/sh
# Drops what a production image never runs: other platforms' native binaries (~240 MB of
# onnxruntime-node alone), source maps, TypeScript sources and docs.
set -eu
cd "${1:-node_modules}"
case "$(uname -m)" in
  x86_64) keep=x64 ;;
  aarch64) keep=arm64 ;;
  *) keep=none ;;
esac
ort=onnxruntime-node/bin/napi-v6
if [ -d "$ort" ]; then
  for os_dir in "$ort"/*; do
    [ "$(basename "$os_dir")" = linux ] || rm -rf "$os_dir"
  done
  for arch_dir in "$ort"/linux/*; do
    [ "$(basename "$arch_dir")" = "$keep" ] || rm -rf "$arch_dir"
  done
fi
find . -type f \( -name '*.map' -o -name '*.ts' -o -name '*.md' -o -name '*.markdown' -o -name 'CHANGELOG*' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
# PGlite: Loupe loads no Postgres extensions (contrib tarballs) and imports only the ES modules.
pglite=@electric-sql/pglite/dist
if [ -d "$pglite" ]; then
  rm -f "$pglite"/*.tar.gz "$pglite"/*.cjs
  rm -rf "$pglite"/contrib "$pglite"/node-postgres
fi
find . -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name example -o -name examples -o -name .github \) -prune -exec rm -rf {} +
