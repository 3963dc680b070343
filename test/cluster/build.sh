#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy into a cache folder outside the repo, keyed by the
# pinned versions and the tools module's go.sum; reuses it when complete. Prints the bin folder on the last line.
#   etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kubectl,
#   kubelet, kube-proxy                                                     <- test/cluster/tools (one module)
#   kwok, helm, containerd (+ shim, ctr), coredns                           <- go install NAME@VERSION (own go.mod)
#   kueue (+ its manifests, kueue-config)                                   <- test/cluster/tools-kueue (own module)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

command -v go >/dev/null || { echo "build.sh: Go is not installed; install Go >= 1.26 (Debian: golang-go from backports, or go.dev)" >&2; exit 1; }
need=$(sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' "$here/tools/go.mod")
have=$(go env GOVERSION | sed 's/^go\([0-9]*\.[0-9]*\).*/\1/')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "build.sh: Go $have is too old; kubernetes ${KUBE_VERSION} needs Go >= $need" >&2; exit 1
fi

sum=$(cat "$here/versions.env" "$here/tools/go.sum" | sha256sum | cut -c1-12)
key="k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}-helm-${HELM_VERSION}-ctd-${CONTAINERD_VERSION}-dns-${COREDNS_VERSION}-${sum}"
cache="${MOE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/moe-operator}"
bin="$cache/$key/bin"
tools=(etcd kube-apiserver kube-scheduler kube-controller-manager kubectl kubelet kube-proxy kwok helm
       containerd containerd-shim-runc-v2 ctr coredns)
step() { echo "build.sh: [$(date +%H:%M:%S)] $*" >&2; }

# Kueue pins its own k8s.io libraries, so it is a module of its own (test/cluster/tools-kueue) with a cache folder of
# its own, keyed by its version and that module's go.sum; the bin folder links to it (kueue, kueue-config), so a new
# Kueue version rebuilds Kueue only. kueue-config: the CRDs, webhook configurations and ClusterRole of its release,
# copied from the module source (test/cluster/kueue.ts installs them).
kueue_version=$(sed -n 's#^[[:space:]]*sigs.k8s.io/kueue \(v[^ ]*\).*#\1#p' "$here/tools-kueue/go.mod" | head -1)
[ -n "$kueue_version" ] || { echo "build.sh: no sigs.k8s.io/kueue requirement in $here/tools-kueue/go.mod" >&2; exit 1; }
kueue_dir="$cache/kueue-${kueue_version}-$(sha256sum < "$here/tools-kueue/go.sum" | cut -c1-12)"
kueue_complete() {
  [ -x "$kueue_dir/kueue" ] && [ -f "$kueue_dir/config/webhook/manifests.yaml" ] && [ -f "$kueue_dir/config/rbac/manager_secrets_role.yaml" ] &&
    [ "$(readlink "$bin/kueue")" = "$kueue_dir/kueue" ] && [ "$(readlink "$bin/kueue-config")" = "$kueue_dir/config" ]
}
build_kueue() {
  kueue_complete && return 0
  mkdir -p "$kueue_dir"
  if [ ! -x "$kueue_dir/kueue" ]; then
    step "building kueue ${kueue_version}"
    (cd "$here/tools-kueue" && go build -trimpath \
      -ldflags "-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=${kueue_version} -X sigs.k8s.io/kueue/pkg/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      -o "$kueue_dir/kueue.tmp" sigs.k8s.io/kueue/cmd/kueue) && mv "$kueue_dir/kueue.tmp" "$kueue_dir/kueue"
  fi
  if [ ! -f "$kueue_dir/config/webhook/manifests.yaml" ] || [ ! -f "$kueue_dir/config/rbac/manager_secrets_role.yaml" ]; then
    src=$(cd "$here/tools-kueue" && go list -m -f '{{.Dir}}' sigs.k8s.io/kueue)
    rm -rf "$kueue_dir/config.tmp" && mkdir -p "$kueue_dir/config.tmp/crd" "$kueue_dir/config.tmp/webhook" "$kueue_dir/config.tmp/rbac"
    cp "$src"/config/components/crd/bases/*.yaml "$kueue_dir/config.tmp/crd/"
    cp "$src/config/components/webhook/manifests.yaml" "$kueue_dir/config.tmp/webhook/"
    for r in role manager_secrets_role manager_clusterprofiles_role; do cp "$src/config/components/rbac/$r.yaml" "$kueue_dir/config.tmp/rbac/"; done
    chmod -R u+w "$kueue_dir/config.tmp" && rm -rf "$kueue_dir/config" && mv "$kueue_dir/config.tmp" "$kueue_dir/config"
  fi
  ln -sfn "$kueue_dir/kueue" "$bin/kueue"
  ln -sfn "$kueue_dir/config" "$bin/kueue-config"
}

complete() { for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done; }
if complete && kueue_complete; then echo "$bin"; exit 0; fi
mkdir -p "$bin"

date_now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ver="k8s.io/component-base/version"
kube_ldflags="-s -w -X $ver.gitVersion=${KUBE_VERSION} -X $ver.gitMajor=1 -X $ver.gitMinor=${minor} \
 -X $ver.gitTreeState=clean -X $ver.buildDate=${date_now} \
 -X k8s.io/client-go/pkg/version.gitVersion=${KUBE_VERSION} -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=${minor}"

cd "$here/tools"
for c in kube-apiserver kube-scheduler kube-controller-manager kubectl kubelet kube-proxy; do
  [ -x "$bin/$c" ] && continue
  step "building $c ${KUBE_VERSION}"
  go build -trimpath -ldflags "$kube_ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c" && mv "$bin/$c.tmp" "$bin/$c"
done
if [ ! -x "$bin/etcd" ]; then
  step "building etcd ${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$bin/etcd.tmp" "$bin/etcd"
fi
gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT
if [ ! -x "$bin/kwok" ]; then
  step "building kwok ${KWOK_VERSION}"
  GOFLAGS= GOBIN="$gobin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  mv "$gobin/kwok" "$bin/kwok"
fi
if [ ! -x "$bin/helm" ]; then
  step "building helm ${HELM_VERSION}"
  major=${HELM_VERSION%%.*}
  GOFLAGS= GOBIN="$gobin" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION}" "helm.sh/helm/${major}/cmd/helm@${HELM_VERSION}"
  mv "$gobin/helm" "$bin/helm"
fi
# containerd: static, without the cgo-only btrfs/devmapper snapshotters (overlayfs and native remain).
for c in containerd containerd-shim-runc-v2 ctr; do
  [ -x "$bin/$c" ] && continue
  step "building $c ${CONTAINERD_VERSION}"
  GOFLAGS= GOBIN="$gobin" go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
    "github.com/containerd/containerd/v2/cmd/$c@${CONTAINERD_VERSION}"
  mv "$gobin/$c" "$bin/$c"
done
if [ ! -x "$bin/coredns" ]; then
  step "building coredns ${COREDNS_VERSION}"
  GOFLAGS= GOBIN="$gobin" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@${COREDNS_VERSION}"
  mv "$gobin/coredns" "$bin/coredns"
fi
build_kueue
complete && kueue_complete || { echo "build.sh: build finished but binaries are missing in $bin" >&2; exit 1; }
step "done"
echo "$bin"
