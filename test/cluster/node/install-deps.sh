#!/usr/bin/env bash
# Debian packages the local cluster's real nodes need: runc (the OCI runtime containerd calls), the CNI reference
# plugins (bridge, host-local, loopback, portmap), iptables and conntrack (kube-proxy), umoci (the pause image) and
# nsenter (util-linux). Idempotent: installs only what is missing.
set -euo pipefail
need=()
[ -x /usr/sbin/runc ] || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v umoci >/dev/null || need+=(umoci)
command -v nsenter >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "real nodes need these packages and apt-get is not available: ${need[*]}" >&2; exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing ${need[*]} for the local cluster's real nodes"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" || {
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
}
