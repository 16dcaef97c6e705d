#!/usr/bin/env bash
# Builds and tests dcomauth against the Wireshark of other Debian releases, each in its own
# debootstrap root under target/roots/<release> (git-ignored, reused on the next run):
#   trixie (Debian 13) -> Wireshark 4.4.x      forky (Debian 14, testing) -> Wireshark 4.6.x
#
#   tests/platforms/debian-roots.sh                  # both releases: build, then cargo test
#   tests/platforms/debian-roots.sh trixie           # one release
#   tests/platforms/debian-roots.sh --shell forky    # a shell in the prepared root (same mounts)
#   tests/platforms/debian-roots.sh --run 'tshark -v' trixie   # one command in /src of each root
#   DCOMAUTH_ROOTS_UPDATE=1 tests/platforms/debian-roots.sh   # apt upgrade the roots first
#
# Needs root (debootstrap, chroot, bind mounts) and the network to deb.debian.org and crates.io.
# The host's Rust toolchain (rustup's stable) is bind-mounted read-only into the root, so the
# root needs no Rust of its own; a copy of the working tree goes to /src and is built into a
# target folder inside the root, so host and root builds never share artefacts. Everything runs in a
# private mount namespace and the mounts are undone on exit (trap), whatever happens.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
roots="${DCOMAUTH_ROOTS:-$here/target/roots}"
mirror="${DCOMAUTH_MIRROR:-http://deb.debian.org/debian}"
# What the crate needs inside a root: the release's tshark and headers, libclang for bindgen,
# a C compiler for the shim; setpriv (util-linux) lets the tests run tshark as nobody.
packages=(tshark libwireshark-dev libglib2.0-dev libclang-dev pkg-config gcc libc6-dev util-linux ca-certificates)
# More for a particular use (tests/platforms/windows.sh adds the MinGW cross toolchain).
read -r -a extra <<<"${DCOMAUTH_ROOTS_EXTRA_PACKAGES:-}"
packages+=("${extra[@]}")

args=("$@")
shell=0
run=""
releases=()
while (($#)); do
  case "$1" in
    --shell) shell=1 ;;
    --run) run="$2"; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) releases+=("$1") ;;
  esac
  shift
done
((${#releases[@]})) || releases=(trixie forky)

[ "$(id -u)" -eq 0 ] || { echo "debian-roots: run as root (debootstrap, chroot, mounts)" >&2; exit 1; }

# Re-run inside a private mount namespace: even a kill -9 cannot leave a mount behind.
if [ -z "${DCOMAUTH_ROOTS_NS:-}" ]; then
  exec env DCOMAUTH_ROOTS_NS=1 unshare --mount --propagation private -- "$0" "${args[@]}"
fi

toolchain="${DCOMAUTH_TOOLCHAIN:-$(rustup which rustc 2>/dev/null | xargs -r dirname | xargs -r dirname)}"
[ -x "$toolchain/bin/cargo" ] || { echo "debian-roots: no Rust toolchain found (set DCOMAUTH_TOOLCHAIN to its folder)" >&2; exit 1; }

command -v debootstrap >/dev/null || {
  echo "debian-roots: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  mounted=()
}
trap cleanup EXIT INT TERM

bind() { # bind SRC DST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounted+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

in_root() { # in_root DIR CMD...
  local dir="$1"
  shift
  chroot "$dir" /usr/bin/env -i \
    PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    DEBIAN_FRONTEND=noninteractive \
    CARGO_HOME=/var/cache/dcomauth/cargo CARGO_TARGET_DIR=/var/cache/dcomauth/target \
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" \
    SSL_CERT_FILE=/etc/dcomauth-ca.crt CARGO_HTTP_CAINFO=/etc/dcomauth-ca.crt \
    "$@"
}

prepare() { # prepare RELEASE DIR
  local release="$1" dir="$2" script=""
  # bookworm's debootstrap has no script for releases newer than trixie; sid's fits them.
  [ -e "/usr/share/debootstrap/scripts/$release" ] || script=/usr/share/debootstrap/scripts/sid
  if [ ! -e "$dir/.dcomauth-bootstrapped" ]; then
    echo "debian-roots: debootstrap $release into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    debootstrap --variant=minbase "$release" "$dir" "$mirror" $script
    touch "$dir/.dcomauth-bootstrapped"
  fi
}

install_packages() { # install_packages RELEASE DIR  (after mount_all)
  local release="$1" dir="$2"
  # The host's CA bundle: crates.io may be reached through an inspecting proxy only the host trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/dcomauth-ca.crt"
  cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  # Testing's Release files expire within days; a mirror that serves a frozen snapshot (or a
  # root reused weeks later) would otherwise refuse forky. Signatures are still checked.
  echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99dcomauth-valid-until"
  local want
  want="$(printf '%s\n' "${packages[@]}")"
  if [ "$(cat "$dir/.dcomauth-packages" 2>/dev/null)" != "$want" ] || [ -n "${DCOMAUTH_ROOTS_UPDATE:-}" ]; then
    echo "debian-roots: installing ${packages[*]} in $release" >&2
    in_root "$dir" apt-get update -qq
    in_root "$dir" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    [ -z "${DCOMAUTH_ROOTS_UPDATE:-}" ] || in_root "$dir" apt-get upgrade -y -qq >/dev/null
    in_root "$dir" apt-get clean
    printf '%s' "$want" >"$dir/.dcomauth-packages"
  fi
}

mount_all() { # mount_all DIR
  local dir="$1"
  mount -t proc proc "$dir/proc"
  mounted+=("$dir/proc")
  bind /dev "$dir/dev"
  mount -t devpts devpts "$dir/dev/pts" -o newinstance,ptmxmode=0666
  mounted+=("$dir/dev/pts")
  mount -t tmpfs tmpfs "$dir/tmp" -o mode=1777
  mounted+=("$dir/tmp")
  bind "$toolchain" "$dir/opt/rust" ro
  # A snapshot of the working tree (uncommitted edits included), so editing on the host while a
  # root builds cannot mix two versions; git metadata and build output stay behind.
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  # Git's view when there is one (ignored build output, fuzz corpora and bench results stay behind).
  if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$here" ls-files -z -co --exclude-standard | tar -C "$here" --null -T - -cf - | tar -C "$dir/src" -xf -
  else
    tar -C "$here" --exclude=./target --exclude=./.git --exclude=./fuzz/corpus --exclude=./fuzz/target -cf - . |
      tar -C "$dir/src" -xf -
  fi
  mkdir -p "$dir/var/cache/dcomauth"
}

status=0
for release in "${releases[@]}"; do
  dir="$roots/$release"
  mkdir -p "$roots"
  # One run per root at a time: a second one would replace /src under the first one's build.
  exec {lock}>"$roots/$release.lock"
  flock "$lock"
  prepare "$release" "$dir"
  mount_all "$dir"
  install_packages "$release" "$dir"
  ws="$(in_root "$dir" dpkg-query -W -f='${Version}' tshark)"
  echo "=== $release: tshark $ws, $(in_root "$dir" cargo --version) ===" >&2
  if ((shell)); then
    in_root "$dir" bash -c 'cd /src && exec bash -i' || true
  elif [ -n "$run" ]; then
    in_root "$dir" bash -c "cd /src && $run" || status=1
  elif ! in_root "$dir" bash -c 'cd /src && cargo build --locked --release && cargo test --locked --workspace --no-fail-fast'; then
    echo "=== $release: FAILED ===" >&2
    status=1
  else
    echo "=== $release: passed (tshark $ws) ===" >&2
  fi
  cleanup
  exec {lock}>&-
done
exit "$status"
