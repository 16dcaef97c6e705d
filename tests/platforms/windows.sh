#!/usr/bin/env bash
# Cross-builds dcomauth.dll for 64-bit Windows and Wireshark 4.6, in the forky root of
# tests/platforms/debian-roots.sh (built on first use), with Debian's rustc/cargo/rust-src
# (std rebuilt for the target: rustup cannot fetch it here) and MinGW-w64. Then checks with
# objdump that the DLL exports the plugin symbols Wireshark looks up and imports nothing but
# libwireshark.dll, libwsutil.dll, GLib and the Windows DLLs Rust's std uses, and that it
# imports exactly the symbols listed in wireshark-sys/windows/*.def.
#
#   sudo tests/platforms/windows.sh        # -> target/windows/dcomauth.dll
#   DCOMAUTH_GLIB_DLL=libglib-2.0-0.dll sudo tests/platforms/windows.sh   # another GLib DLL name
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
export DCOMAUTH_ROOTS_EXTRA_PACKAGES="rustc cargo rust-src gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64"
"$here/tests/platforms/debian-roots.sh" --run "DCOMAUTH_GLIB_DLL='${DCOMAUTH_GLIB_DLL:-}' tests/platforms/windows-build.sh" forky
mkdir -p "$here/target/windows"
cp "${DCOMAUTH_ROOTS:-$here/target/roots}/forky/var/cache/dcomauth/windows/dcomauth.dll" "$here/target/windows/"
echo "windows: $here/target/windows/dcomauth.dll"
