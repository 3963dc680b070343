#!/usr/bin/env bash
# The chart ships a copy of /crds (Helm installs crds/ before templates). /crds is the source; this copies it, and
# `--check` fails when the copy has drifted (make verify).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../crds"
if [ "${1:-}" = "--check" ]; then
  diff -r "$src" "$here/crds" >/dev/null || { echo "charts/moe-operator/crds differs from crds/; run charts/moe-operator/sync-crds.sh" >&2; exit 1; }
  echo "chart CRDs match crds/"
  exit 0
fi
rm -rf "$here/crds" && mkdir -p "$here/crds" && cp "$src"/*.yaml "$here/crds/"
echo "synced $(ls "$here/crds" | wc -l) CRDs into charts/moe-operator/crds"
