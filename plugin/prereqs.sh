#!/usr/bin/env bash
# Installs what building and testing dcomauth needs on Debian 12, only what is missing.
set -euo pipefail

packages=(tshark libwireshark-dev libglib2.0-dev libclang-dev pkg-config gcc util-linux python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ((${#missing[@]})); then
  echo "dcomauth: installing ${missing[*]}" >&2
  # tshark asks whether non-root users may capture; the default answer is fine for us.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Rust: the machine's toolchain (rustup) when there is one; otherwise rustup's installer.
# Debian's own rustc is too old for this crate (rust-version in Cargo.toml).
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
  echo "dcomauth: no cargo found; installing a Rust toolchain with rustup" >&2
  command -v curl >/dev/null || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates >/dev/null
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy >&2
  export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "dcomauth: a Rust toolchain (cargo >= 1.87) is required" >&2; exit 1; }
