#!/usr/bin/env bash
# `make check`: the fast loop. Formatting, lints (the console's too, once
# its packages are installed), the domain crate's unit tests, the layers
# test and the docs test (tests/docs.rs): nothing that needs the emulator,
# the functions or the pinned Python tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS
echo "==> formatting and lints" >&2
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
if [ -d console/node_modules ]; then
  echo "==> the admin console: formatting (prettier) and types against openapi.yaml (tsc)" >&2
  (cd console && npm run --silent format:check && npm run --silent gen > /dev/null &&
    npx tsc -p tsconfig.json && npx tsc -p tsconfig.tests.json)
else
  echo "==> the admin console: skipped (no console/node_modules yet; make test installs them)" >&2
fi
echo "==> unit, layer and docs tests (shared)" >&2
cargo test -p shared
echo "==> make check finished in $((SECONDS - started)) s" >&2
