#!/usr/bin/env bash
# Runs tshark with the freshly built plugin under valgrind memcheck and fails on any memory error
# that tests/valgrind.supp does not suppress (the suppressions cover Wireshark's and GLib's own
# noise only; none names libdcomauth, so every error in our library is reported).
#
#   tests/memcheck.sh            one small capture (tests/captures/seed-winpe.pcapng), about a minute
#   tests/memcheck.sh --all      every generated capture and every reference capture
#   tests/memcheck.sh FILE...    the captures named
#   tests/memcheck.sh --baseline plain tshark (no plugin) over all captures with
#                                --gen-suppressions=all: the raw material of tests/valgrind.supp
#
# Each capture is read twice-pass (-2) with full trees (-V) and the plugin's taps (-z), so the
# first pass, the replay, the tree, the expert infos and the statistics all run under memcheck.
# Installs valgrind when missing; safe to run again. Exit 0: no error; 1: errors (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-default}
case $MODE in
  default | --all | --baseline) ;;
  -*) echo "usage: $0 [--all|--baseline|CAPTURE...]" >&2; exit 2 ;;
  *) MODE=files ;;
esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v valgrind >/dev/null; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind
fi
command -v tshark >/dev/null || source plugin/prereqs.sh

# The reference captures vendored with the tests.
shared=tests/captures/reference
caps=(tests/captures/seed-winpe.pcapng)
if [ "$MODE" = files ]; then
  caps=("$@")
elif [ "$MODE" != default ]; then
  caps=(tests/captures/*.pcapng)
  caps+=("$shared"/*.cap "$shared"/*.pcap "$shared"/*.pcapng)
fi

work=$(mktemp -d /tmp/dcomauth-memcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
ver=$(tshark --version | sed -n '1s/.*(Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')
mkdir -p "$work/plugins/$ver/epan" "$work/home" "$work/logs"
if [ "$MODE" != --baseline ]; then
  cargo build -j1 --locked
  cp target/debug/libdcomauth.so "$work/plugins/$ver/epan/"
fi
chmod -R a+rwX "$work"

# As root Wireshark ignores WIRESHARK_PLUGIN_DIR, so tshark runs as nobody (as in the tests).
# wmem and GSlice hand every allocation to malloc, so memcheck sees each one.
# tshark unloads its plugins before it exits; the memory our statics own (the field and expert
# registrations Wireshark keeps pointers to, the capture state) would then look lost with
# nothing left to name it. Preloading the plugin keeps it mapped: that memory is reachable as it
# really is, and stacks through our code keep their symbols.
preload=""
[ "$MODE" = --baseline ] || preload="$work/plugins/$ver/epan/libdcomauth.so"
run() {
  local env=(env WIRESHARK_PLUGIN_DIR="$work/plugins" HOME="$work/home" LC_ALL=C.UTF-8
    WIRESHARK_DEBUG_WMEM_OVERRIDE=simple G_SLICE=always-malloc LD_PRELOAD="$preload")
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "${env[@]}" "$@"
  else
    "${env[@]}" "$@"
  fi
}

if [ "$MODE" != --baseline ]; then
  plugins=$(run tshark -G plugins)
  grep -q libdcomauth.so <<<"$plugins" || { echo "the plugin did not load" >&2; exit 1; }
fi

vg=(valgrind --tool=memcheck --error-exitcode=99 --num-callers=40 --keep-debuginfo=yes
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite)
if [ "$MODE" = --baseline ]; then
  vg+=(--gen-suppressions=all)
else
  vg+=(--suppressions=tests/valgrind.supp)
fi

# Without the plugin (baseline) its taps do not exist.
zargs=(-z expert,note)
[ "$MODE" = --baseline ] || zargs+=(-z dcomauth,summary -z dcomauth,table)

failed=0
for cap in "${caps[@]}"; do
  name=$(basename "$cap")
  cp "$cap" "$work/$name"
  chmod a+r "$work/$name"
  log="$work/logs/$name.vg"
  start=$(date +%s)
  set +e
  run "${vg[@]}" --log-file="$log" tshark -n -r "$work/$name" -2 -V "${zargs[@]}" \
    >"$work/logs/$name.out" 2>"$work/logs/$name.err"
  rc=$?
  set -e
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
  ours=$(grep -c -e 'libdcomauth' -e 'dcomauth::' "$log" || true)
  echo "$name: exit $rc, ${errors:-?} errors, $ours stack lines in libdcomauth, $(( $(date +%s) - start ))s"
  if [ "$MODE" = --baseline ]; then
    cat "$log"
    continue
  fi
  # The plugin must have run on this capture, not only loaded: its tap prints the summary.
  if ! grep -q -e '^Association ' -e 'No DCE/RPC associations seen' "$work/logs/$name.out"; then
    echo "  the dcomauth summary is missing from tshark's output" >&2
    failed=1
  fi
  if [ "$rc" = 99 ] || [ "${errors:-1}" != 0 ]; then
    failed=1
    cat "$log"
  elif [ "$rc" != 0 ] && ! grep -q 'cut short in the middle of a packet' "$work/logs/$name.err"; then
    echo "  tshark failed:" >&2
    cat "$work/logs/$name.err" >&2
    failed=1
  fi
done
if [ "$failed" != 0 ]; then
  rm -rf target/memcheck && mkdir -p target/memcheck && cp "$work"/logs/* target/memcheck/
  echo "memcheck: FAILED (valgrind logs kept in target/memcheck/)" >&2
  exit 1
fi
[ "$MODE" = --baseline ] || echo "memcheck: ${#caps[@]} captures, no errors"
