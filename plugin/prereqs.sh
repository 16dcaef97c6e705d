#!/usr/bin/env bash
# Installs what building and testing dcomauth needs on Debian 12, only what is missing.
set -euo pipefail

packages=(tshark libwireshark-dev libglib2.0-dev libclang-dev pkg-config gcc util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "dcomauth: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # tshark asks whether non-root users may capture; the default answer is fine for us.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "dcomauth: a Rust toolchain (cargo) is required" >&2; exit 1; }
