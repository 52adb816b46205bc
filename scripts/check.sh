#!/usr/bin/env bash
# `make check`: the fast loop. Formatting, lints, the domain crate's unit
# tests, the layers test and the docs test (tests/docs.rs): nothing that
# needs the emulator, the functions or the pinned Python tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS
echo "==> formatting and lints" >&2
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
echo "==> unit, layer and docs tests (shared)" >&2
cargo test -p shared
echo "==> make check finished in $((SECONDS - started)) s" >&2
