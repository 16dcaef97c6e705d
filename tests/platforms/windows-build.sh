#!/usr/bin/env bash
# Runs inside the forky root (see windows.sh): builds dcomauth.dll for x86_64-pc-windows-gnu
# against forky's Wireshark 4.6 headers and checks its export and import tables.
#
# Why this is sound: the epan and GLib headers are the same files on every platform except
# glibconfig.h, which GLib generates per platform; wireshark-sys/windows/glibconfig.h is the
# 64-bit Windows one (LLP64: long is 32-bit, gint64/gsize are long long). bindgen is told the
# target (--target=x86_64-pc-windows-gnu, from cargo's TARGET) and the shim is compiled by
# MinGW-w64's gcc, so every struct layout and integer width follows the Windows ABI; the
# shim's static assertions check the GLib widths. Linking uses import libraries made here
# with dlltool from wireshark-sys/windows/*.def, which list exactly what the plugin imports.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Debian's toolchain (it has rust-src for -Zbuild-std); the host's rustup toolchain has no
# Windows std.
export PATH=/usr/local/bin:/usr/bin:/bin
out=/var/cache/dcomauth/windows
rm -rf "$out"
mkdir -p "$out/lib" "$out/include"
cp wireshark-sys/windows/glibconfig.h "$out/include/"
# glib.h includes glib/gwin32.h on Windows, which GLib installs only there (forky's 2.8x has none).
# Nothing the plugin uses is declared in it: an empty one lets bindgen read glib.h.
if [ ! -e /usr/include/glib-2.0/glib/gwin32.h ]; then
  mkdir -p "$out/include/glib"
  printf '/* Stand-in: see tests/platforms/windows-build.sh. */\n' >"$out/include/glib/gwin32.h"
fi

for def in wireshark-sys/windows/*.def; do
  name="$(basename "$def" .def)"
  dll="$(awk '$1 == "LIBRARY" { print $2 }' "$def")"
  if [ "$name" = glib-2.0 ] && [ -n "${DCOMAUTH_GLIB_DLL:-}" ]; then dll="$DCOMAUTH_GLIB_DLL"; fi
  # Quoted: dlltool's parser stumbles on a name such as glib-2.0-0.dll otherwise.
  sed "s/^LIBRARY .*/LIBRARY \"$dll\"/" "$def" >"$out/$name.def"
  # -lwireshark finds libwireshark.dll.a, -lglib-2.0 libglib-2.0.dll.a.
  x86_64-w64-mingw32-dlltool -d "$out/$name.def" -D "$dll" -l "$out/lib/lib${name#lib}.dll.a"
done

# wireshark-sys reads these instead of pkg-config (which describes the Linux build).
# libclang aimed at MinGW does not search its own resource headers (mm_malloc.h, which MinGW's
# malloc.h includes): name them, for bindgen only (MinGW's gcc compiles the shim with its own).
clang_include="$(ls -d /usr/lib/llvm-*/lib/clang/*/include | sort -V | tail -n 1)"
export BINDGEN_EXTRA_CLANG_ARGS="-isystem $clang_include"
export WIRESHARK_INCLUDE_DIRS="/usr/include/wireshark:$out/include:/usr/include/glib-2.0"
export WIRESHARK_LIB_DIRS="$out/lib"
export CARGO_TARGET_DIR=/var/cache/dcomauth/target-windows
export RUSTC_BOOTSTRAP=1
cargo --version
cargo build --locked --release -p dcomauth --target x86_64-pc-windows-gnu -Zbuild-std=std,panic_unwind

dll="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/release/dcomauth.dll"
cp "$dll" "$out/dcomauth.dll"
x86_64-w64-mingw32-objdump -p "$dll" >"$out/objdump.txt"

status=0
# Exports: the loader looks these up by name.
exports="$(awk '/^\[Ordinal\/Name Pointer\] Table/ { t = 1; next } t && /^\t\[/ { print $NF } t && /^$/ { t = 0 }' "$out/objdump.txt")"
for sym in plugin_register plugin_version plugin_want_major plugin_want_minor plugin_describe; do
  if grep -qx "$sym" <<<"$exports"; then echo "export $sym"; else echo "MISSING export $sym"; status=1; fi
done

# Imports: "DLL Name: X", a "vma: ..." heading, then one line per symbol ending in its name
# ("<hint> <name>" in older binutils, "<vma> <ordinal> <hint> <name>" in newer), a blank line last.
awk '/^\tDLL Name: / { dll = tolower($3); next }
     /^$/ { dll = "" }
     dll && /^\t[0-9a-f]+ / { print dll, $NF }' "$out/objdump.txt" | sort -u >"$out/imports.txt"
echo "imported DLLs:"
cut -d' ' -f1 "$out/imports.txt" | sort | uniq -c
glib_dll="$(awk '$1 == "LIBRARY" { gsub(/"/, "", $2); print tolower($2) }' "$out/glib-2.0.def")"
while read -r dll; do
  case "$dll" in
    libwireshark.dll | libwsutil.dll | "$glib_dll") ;;
    kernel32.dll | ntdll.dll | msvcrt.dll | bcryptprimitives.dll | ws2_32.dll | userenv.dll | api-ms-win-*) ;;
    *) echo "UNEXPECTED import from $dll"; status=1 ;;
  esac
done < <(cut -d' ' -f1 "$out/imports.txt" | sort -u)

# The .def files list exactly what is imported: nothing missing, nothing unused.
for name in libwireshark libwsutil glib-2.0; do
  dll="$(awk '$1 == "LIBRARY" { gsub(/"/, "", $2); print tolower($2) }' "$out/$name.def")"
  listed="$(awk 'f && NF && $1 !~ /^;/ { print $1 } $1 == "EXPORTS" { f = 1 }' "$out/$name.def" | sort)"
  used="$(awk -v d="$dll" '$1 == d { print $2 }' "$out/imports.txt" | sort)"
  if [ "$listed" != "$used" ]; then
    echo "$name.def differs from the imports of $dll:"
    diff <(echo "$listed") <(echo "$used") || true
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "windows: exports and imports as expected"
exit "$status"
