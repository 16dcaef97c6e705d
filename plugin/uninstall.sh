#!/usr/bin/env bash
# Removes dcomauth from the folder plugin/install.sh installs into for the user running this (the
# global plugin folder as root, the personal one otherwise; DCOMAUTH_PLUGIN_DEST=folder as for
# install.sh) and says what it removed. Nothing to remove is not an error: it can be run again.
#
#   plugin/uninstall.sh                # remove
#   plugin/uninstall.sh --print-dest   # only print the folder it would remove the plugin from
set -euo pipefail

source "$(dirname "$0")/folders.sh"

if [ "${1:-}" = "--print-dest" ]; then
  plugin_dest
  exit 0
elif [ $# -gt 0 ]; then
  sed -n '2,7p' "$0" >&2
  exit 2
fi
# Without tshark (and, as root, without libwireshark-dev) there is no folder to ask about.
if [ -z "${DCOMAUTH_PLUGIN_DEST:-}" ] && ! command -v tshark >/dev/null &&
  { [ "$(id -u)" -ne 0 ] || ! pkg-config --exists wireshark 2>/dev/null; }; then
  echo "dcomauth: nothing to remove: tshark is not installed"
  exit 0
fi

dest="$(plugin_dest)"
so="$dest/libdcomauth.so"
if [ -e "$so" ] || [ -L "$so" ]; then
  rm -f "$so"
  echo "dcomauth: removed $so"
else
  echo "dcomauth: nothing to remove: $so does not exist"
fi
# The batch command install.sh put beside it.
if [ -z "${DCOMAUTH_PLUGIN_DEST:-}" ]; then
  bin="$(batch_bindir)/dcomauth-batch"
  if [ -e "$bin" ]; then
    rm -f "$bin"
    echo "dcomauth: removed $bin"
  fi
fi
# A copy install.sh did not put there for this user still loads; say so rather than touch it.
if [ -z "${DCOMAUTH_PLUGIN_DEST:-}" ] && [ "$(id -u)" -ne 0 ]; then
  global="$(global_plugins)/epan/libdcomauth.so"
  if [ -e "$global" ]; then
    echo "dcomauth: note: $global is still installed for every user; run plugin/uninstall.sh as root to remove it"
  fi
fi
