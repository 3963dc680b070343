#!/usr/bin/env bash
# `make images`: builds the operator and runtime images from operator/Dockerfile and runtime/Dockerfile with buildah
# (chroot isolation, vfs storage: no daemon) over the Debian-made bases of base.sh, and writes each as an OCI archive
# under $MOE_CACHE_DIR/images/out/, named by a key over everything that goes into it (Dockerfile, the sources it
# copies, package-lock.json, the bases, the labels). An unchanged tree reuses the archives.
# Reproducible: file times and the created date are the last commit that touched the image's inputs, so a rebuild
# gives the same digest. Prints a summary and, per image, one line for scripts:
#   IMAGE <name:tag> <archive> <manifest digest>
# usage: build.sh [--force] [operator|runtime]...    --force: rebuild even when the archive exists
source "$(dirname "$0")/lib.sh"
force=0 which=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    operator|runtime) which+=("$a") ;;
    *) die "unknown argument $a (usage: build.sh [--force] [operator|runtime]...)" ;;
  esac
done
[ ${#which[@]} -gt 0 ] || which=(operator runtime)
need_root
need_tools buildah skopeo
export TMPDIR="$CACHE/tmp"
mkdir -p "$CACHE/out" "$TMPDIR"
# One build at a time per cache: a second caller waits, then finds the archives the first one wrote.
lock_cache
# Working containers of an earlier run that was killed (nothing else uses this store while we hold the lock).
"${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true

bases="$(bash "$REPO/scripts/images/base.sh")"
base_operator="$(awk '$2 == "operator" { print $3 }' <<<"$bases")"
base_runtime="$(awk '$2 == "runtime" { print $3 }' <<<"$bases")"
base_build="$(awk '$2 == "build" { print $3 }' <<<"$bases")"
image_id() { "${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$1"; }
base_ids="$(image_id "$base_operator") $(image_id "$base_runtime") $(image_id "$base_build")"
# A TLS-intercepting proxy's CA (NODE_EXTRA_CA_CERTS or npm's cafile here) is mounted into the build's RUN steps so
# that npm ci can reach the registry; it never lands in a layer.
ca="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
ca_args=()
if [ -f "$ca" ]; then ca_args=(-v "$ca:/run/moe-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/moe-build-ca.crt); fi
SOURCE="${MOE_IMAGE_SOURCE:-https://github.com/moe-operator/moe-operator}"

# The paths each Dockerfile copies (with .dockerignore's build outputs left out, as git ignores them too).
inputs() {
  case "$1" in
    operator) echo operator/Dockerfile .dockerignore package.json package-lock.json tsconfig.json operator ;;
    runtime) echo runtime/Dockerfile .dockerignore package.json package-lock.json tsconfig.json operator/plan \
      operator/contract operator/report operator/api runtime/native runtime/collectives runtime/src \
      scripts/images/collect-libs.sh ;;
  esac
}

build_one() { # operator|runtime
  local what="$1" ref="$REGISTRY/moe-$1:$VERSION" paths files content revision epoch created key archive
  [ "$what" = operator ] && ref="$REGISTRY/moe-operator:$VERSION"
  read -ra paths <<<"$(inputs "$what")"
  paths+=(':(exclude,glob)**/*.md')  # READMEs are not copied (.dockerignore)
  files="$(git -C "$REPO" ls-files --cached --others --exclude-standard -- "${paths[@]}" | LC_ALL=C sort -u)"
  content="$(cd "$REPO" && while read -r f; do [ -f "$f" ] && sha256sum "$f"; done <<<"$files" | hash16)"
  # The revision label is the last commit of these inputs; uncommitted changes mark it -dirty.
  revision="$(git -C "$REPO" log -1 --format=%H -- "${paths[@]}")"
  epoch="$(git -C "$REPO" log -1 --format=%ct -- "${paths[@]}")"
  [ -n "$revision" ] || die "no commit touches $(inputs "$what"): commit them first"
  if [ -n "$(git -C "$REPO" status --porcelain -- "${paths[@]}")" ]; then revision="$revision-dirty"; fi
  created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
  key="$(cat "$0" "$REPO/scripts/images/lib.sh" <(echo "$content $base_ids $revision $epoch $VERSION $SOURCE $REGISTRY") | hash16)"
  archive="$CACHE/out/moe-$what-$VERSION-$key.oci.tar"
  if [ "$force" = 1 ] || [ ! -s "$archive" ] || [ ! -s "$archive.info" ]; then
    local t0=$SECONDS
    log "building $ref (key $key, revision $revision)"
    # No --layers: with vfs every cached step is a full copy of the root file system (tens of GB); the archive key
    # is the cache.
    "${BUILDAH[@]}" bud --quiet --isolation chroot --layers=false --pull=never \
      --timestamp "$epoch" --identity-label=false "${ca_args[@]}" \
      --build-arg "BUILD_IMAGE=$base_build" --build-arg "BASE_IMAGE=$([ "$what" = operator ] && echo "$base_operator" || echo "$base_runtime")" \
      --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" --build-arg "SOURCE=$SOURCE" \
      --label "org.opencontainers.image.created=$created" \
      -f "$REPO/$what/Dockerfile" -t "$ref" "$REPO" >&2
    rm -f "$archive.partial"
    "${BUILDAH[@]}" push --quiet --digestfile "$archive.digest" "$ref" "oci-archive:$archive.partial:$ref" >&2
    printf '%s %s\n' "$(cat "$archive.digest")" \
      "$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$ref")" >"$archive.info.partial"
    # Unpacked size: the sum of the layers' uncompressed sizes, as a node stores them.
    "${BUILDAH[@]}" images --format '{{.Size}}' "$ref" | head -1 >>"$archive.info.partial"
    mv "$archive.partial" "$archive" && mv "$archive.info.partial" "$archive.info" && rm -f "$archive.digest"
    # The archive is the product: drop the image and whatever the build left dangling from the store.
    "${BUILDAH[@]}" rmi "$ref" >/dev/null
    "${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
    # Archives of this image from earlier keys.
    find "$CACHE/out" -maxdepth 1 -name "moe-$what-*.oci.tar*" ! -name "moe-$what-$VERSION-$key.oci.tar*" -delete
    log "built $ref in $((SECONDS - t0)) s"
    state=built
  else
    state=cached
  fi
  local digest unpacked
  digest="$(awk 'NR == 1 { print $1 }' "$archive.info")"
  unpacked="$(sed -n 2p "$archive.info")"
  printf '%-12s %s (%s)\n  digest   %s\n  size     %s archive (compressed), %s unpacked\n  archive  %s\n' \
    "moe-$what" "$ref" "$state" "$digest" "$(du -h "$archive" | cut -f1)" "$unpacked" "$archive"
  RESULTS+=("IMAGE $ref $archive $digest")
}

RESULTS=()
for w in "${which[@]}"; do build_one "$w"; done
printf '%s\n' "${RESULTS[@]}"
