#!/bin/sh
# Copies the shared libraries the given native addons load (ldd, so dependencies of dependencies too) into OUT at
# the paths they have here, leaving out the ones node itself links (glibc, libstdc++, libgcc_s): any base image that
# runs node has those. Used by runtime/Dockerfile's build stage; for the collectives addon this is Gloo and what Gloo
# links (hiredis, ibverbs, libnl).
# usage: collect-libs.sh OUT ADDON.node...
set -eu
out="$1"; shift
sonames() { ldd "$1" | awk '$2 == "=>" { print $1 } $1 ~ /^\// { print $1 }'; }
base="$(sonames "$(command -v node)")"
for addon in "$@"; do
  if ldd "$addon" | grep -q 'not found'; then
    ldd "$addon" >&2
    echo "collect-libs: $addon needs a library that is not installed" >&2
    exit 1
  fi
  ldd "$addon" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
    if printf '%s\n' "$base" | grep -qxF "$name"; then continue; fi
    dir="$out$(dirname "$(realpath "$path")")"
    mkdir -p "$dir"
    cp -L "$path" "$dir/$name"
    echo "collect-libs: $name ($dir/$name)"
  done
done
