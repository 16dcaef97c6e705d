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

cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# One build serves the unit tests and the integration tests (they load target/debug/libdcomauth.so).
cargo test --locked --workspace
