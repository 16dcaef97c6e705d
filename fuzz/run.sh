#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for RUNS executions each, one process at a time.
#
#   fuzz/run.sh [RUNS] [TARGET...]      RUNS defaults to 100000; 10000000 is the full run
#   MAX_SECONDS=600 fuzz/run.sh 10000000  also stops each target after that many seconds
#   SANITIZER=address fuzz/run.sh           builds with ASan (default: none; see below)
#
# Seeds the corpora from the generated and the reference captures on first use (fuzz/seeds.py),
# builds with debug assertions (integer overflow panics) and without a sanitizer by default (the
# fuzzed core has no `unsafe`, so ASan would only slow every allocation), and stops at the first target that finds
# something: libFuzzer writes the input to fuzz/artifacts/TARGET/ and the run exits non-zero.
# Each target's log is fuzz/logs/TARGET.log; its last lines give the executions and their rate.
# Needs the nightly toolchain and cargo-fuzz (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-100000}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(dcerpc ntlmssp spnego dcom tcp flow session)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# Corpora: made from the captures, never committed.
if [ ! -d corpus ]; then
  ref=../tests/captures/reference
  caps=(../tests/captures/*.pcapng "$ref"/*.cap "$ref"/*.pcap "$ref"/*.pcapng)
  python3 seeds.py corpus "${caps[@]}"
fi

SANITIZER=${SANITIZER:-none}
cargo +nightly fuzz build -a -s "$SANITIZER"
mkdir -p logs
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: $RUNS runs (log: fuzz/logs/$t.log)"
  start=$(date +%s)
  extra=()
  [ -z "${MAX_SECONDS:-}" ] || extra+=(-max_total_time="$MAX_SECONDS")
  # Frame sequences: 8 KiB holds a handshake and a few calls and keeps an execution cheap.
  case $t in flow | session) extra+=(-max_len=8192) ;; esac
  if ! cargo +nightly fuzz run -a -s "$SANITIZER" "$t" "corpus/$t" -- -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${extra[@]}" >"logs/$t.log" 2>&1; then
    tail -n 40 "logs/$t.log"
    echo "== $t FAILED after $(( $(date +%s) - start ))s: input in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || true)
  echo "== $t: ${execs:-?} executions in $(( $(date +%s) - start ))s, no finding"
done
