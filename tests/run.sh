#!/usr/bin/env bash
# Runs every check of dcomauth: formatting, lints, unit tests and the tshark integration tests.
# Installs what it needs; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source plugin/prereqs.sh
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy || true

cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# One build serves the unit tests and the integration tests (they load target/debug/libdcomauth.so).
cargo test --locked --workspace
