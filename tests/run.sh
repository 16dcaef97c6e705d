#!/usr/bin/env bash
# Runs every check of dcomauth: formatting, lints, unit tests and the tshark integration tests.
# Installs what it needs; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source plugin/prereqs.sh
# fmt and clippy come with the toolchain; add them where rustup left them out.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

# A rewrite mode left set would rewrite committed files (and fail on purpose); never in a full run.
unset DCOMAUTH_BLESS DCOMAUTH_REGENERATE

cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# One build serves the unit tests and the integration tests (they load target/debug/libdcomauth.so).
cargo test --locked --workspace
# The plugin inside tshark under valgrind memcheck on one small capture (--all: every capture).
tests/memcheck.sh
# A real server: a Samba AD DC in network namespaces answers scripted clients, captured fresh and
# checked against the clients' own logs (needs root). The committed live captures are checked above;
# this run regenerates them, so put them back unless someone had changed them on purpose.
if [ "$(id -u)" -eq 0 ]; then
  live_changed=$(git status --porcelain -- tests/live)
  tests/live/run.sh --check
  [ -n "$live_changed" ] || git checkout -q -- tests/live
else
  echo "dcomauth: tests/live/run.sh skipped: it needs root for network namespaces" >&2
fi

# A test that rewrote a committed golden file or capture must fail the run, even if it passed.
git diff --exit-code -- tests/golden tests/captures
untracked=$(git ls-files --others --exclude-standard -- tests/golden tests/captures)
if [ -n "$untracked" ]; then
  echo "tests wrote files that are not committed:" >&2
  echo "$untracked" >&2
  exit 1
fi
