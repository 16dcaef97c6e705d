#!/usr/bin/env bash
# The main job: build dcomauth, install it where Wireshark loads it for the user running this
# (the global plugin folder as root, the personal one otherwise) and show its findings on the
# bundled WinPE capture from the case study.
set -euo pipefail
cd "$(dirname "$0")/.."
source plugin/prereqs.sh

cargo build --release --locked -p dcomauth
so="${CARGO_TARGET_DIR:-target}/release/libdcomauth.so"

if [ "$(id -u)" -eq 0 ]; then
  # Wireshark ignores personal plugin folders when run as root.
  dest="$(pkg-config --variable=plugindir wireshark)/epan"
else
  dest="$(tshark -G folders | awk -F'\t' '/^Personal Plugins:/ {print $2}')/epan"
fi
mkdir -p "$dest"
global="$(pkg-config --variable=plugindir wireshark)/epan/libdcomauth.so"
if [ "$(id -u)" -ne 0 ] && [ -e "$global" ]; then
  echo "dcomauth: note: $global exists too; Wireshark warns about a plugin found in two folders" >&2
fi
if cmp -s "$so" "$dest/libdcomauth.so"; then
  echo "dcomauth: $dest/libdcomauth.so is up to date"
else
  install -m 0644 "$so" "$dest/libdcomauth.so"
  echo "dcomauth: installed $dest/libdcomauth.so"
fi

capture=tests/captures/seed-winpe.pcapng
# tshark warns on stderr when run as root; that is expected here.
ts() { tshark "$@" 2> >(grep -v '^Running as user' >&2); }
echo
echo "== tshark -G plugins"
ts -G plugins | grep dcomauth || { echo "dcomauth: tshark does not list the plugin from $dest" >&2; exit 1; }
echo
echo "== Identity changes, faults and aborts in $capture"
ts -r "$capture" -Y 'dcomauth.identity_change || dcomauth.fault_after_change || dcomauth.abort_after_change' \
  -T fields -E header=y -e frame.number -e dcomauth.identity -e _ws.expert.message
echo
echo "== tshark -q -z expert (DCOMAUTH entries)"
ts -r "$capture" -q -z expert | awk '/^(Errors|Warns|Notes|Chats) \(/ {h=$0; next} /DCOMAUTH/ {if (h) print h; h=""; print}'
echo
echo "== tshark -q -z dcomauth,summary"
ts -r "$capture" -q -z dcomauth,summary
