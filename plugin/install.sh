#!/usr/bin/env bash
# The main job: build dcomauth, install it where Wireshark loads it for the user running this
# (the global plugin folder as root, the personal one otherwise) and show its findings on the
# bundled WinPE capture from the case study. plugin/uninstall.sh removes it again.
#
#   plugin/install.sh                # build (--release) and install
#   plugin/install.sh --print-dest   # only print the folder it would install into
#
#   DCOMAUTH_SO=path/libdcomauth.so  install this already built plugin: no build, no Rust needed
#   DCOMAUTH_PLUGIN_DEST=folder      install into this folder instead (e.g. $WIRESHARK_PLUGIN_DIR/4.0/epan,
#                                    a portable Wireshark, a package staging tree); tshark is not
#                                    asked to load it from there, and no findings are shown
set -euo pipefail
cd "$(dirname "$0")/.."

source plugin/folders.sh

if [ "${1:-}" = "--print-dest" ]; then
  plugin_dest
  exit 0
elif [ $# -gt 0 ]; then
  sed -n '2,12p' plugin/install.sh >&2
  exit 2
fi

if [ -n "${DCOMAUTH_SO:-}" ]; then
  so="$DCOMAUTH_SO"
  [ -f "$so" ] || { echo "dcomauth: DCOMAUTH_SO=$so is not a file" >&2; exit 1; }
  command -v tshark >/dev/null || { echo "dcomauth: tshark is not installed (plugin/prereqs.sh installs it)" >&2; exit 1; }
else
  source plugin/prereqs.sh
  cargo build --release --locked -p dcomauth
  so="${CARGO_TARGET_DIR:-target}/release/libdcomauth.so"
fi

dest="$(plugin_dest)"
mkdir -p "$dest"
global="$(global_plugins)/epan/libdcomauth.so"
if [ "$(id -u)" -ne 0 ] && [ -z "${DCOMAUTH_PLUGIN_DEST:-}" ] && [ -e "$global" ]; then
  echo "dcomauth: note: $global exists too; Wireshark warns about a plugin found in two folders" >&2
fi
if cmp -s "$so" "$dest/libdcomauth.so"; then
  echo "dcomauth: $dest/libdcomauth.so is up to date"
else
  install -m 0644 "$so" "$dest/libdcomauth.so"
  echo "dcomauth: installed $dest/libdcomauth.so"
fi
# The batch command goes beside the plugin.
if [ -z "${DCOMAUTH_PLUGIN_DEST:-}" ]; then
  bindir="$(batch_bindir)"
  mkdir -p "$bindir"
  if ! cmp -s scripts/dcomauth-batch "$bindir/dcomauth-batch"; then
    install -m 0755 scripts/dcomauth-batch "$bindir/dcomauth-batch"
    echo "dcomauth: installed $bindir/dcomauth-batch"
  fi
fi
if [ -n "${DCOMAUTH_PLUGIN_DEST:-}" ]; then
  echo "dcomauth: DCOMAUTH_PLUGIN_DEST is set: not checked with tshark (Wireshark loads plugins from" \
    "<dir>/<major.minor>/epan when WIRESHARK_PLUGIN_DIR=<dir>, except as root)"
  exit 0
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
echo
echo "== tshark -q -z dcomauth,json (one line per association; scripts/dcomauth-batch sweeps folders)"
ts -r "$capture" -q -z "dcomauth,json,capture=$capture" | cut -c1-160
