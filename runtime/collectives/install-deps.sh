#!/usr/bin/env bash
# Installs Debian's Gloo headers and link library (libgloo-dev) when they are missing, so that the collectives addon
# can build; the runtime image only needs libgloo0. Idempotent: does nothing when /usr/include/gloo exists.
set -euo pipefail
if [ -d /usr/include/gloo ] && { [ -e /usr/lib/libgloo.so ] || [ -e /usr/lib/x86_64-linux-gnu/libgloo.so ]; }; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "libgloo-dev is missing and apt-get is not available: install Gloo's headers (gloo/*.h) and libgloo.so by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "installing libgloo-dev (Gloo collectives headers) with apt-get"
$SUDO apt-get install -y --no-install-recommends libgloo-dev || {
  $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends libgloo-dev
}
