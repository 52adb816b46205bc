#!/usr/bin/env bash
# `make test`: checks, then every test against a local stack of its own
# (free ports, its own table and queues), so a running `make dev` is not
# disturbed. Non-zero on any failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
started=$SECONDS

say "checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
(cd console && npm run --silent format:check)

say "linting template.yaml (cfn-lint, with the SAM transform) and validating openapi.yaml"
cfn-lint template.yaml
openapi-spec-validator openapi.yaml
say "checking template.yaml with checkov (skips and their reasons: .checkov.yaml)"
"$ROOT/.tools/checkov/bin/checkov" -f template.yaml --config-file .checkov.yaml

stack_isolate test
# Every function records the AWS operations it performs (shared::adapters::calls),
# for the least-privilege report at the end.
export SHOP_RECORD_AWS_CALLS="$ROOT/.local/aws-calls"
rm -rf "$SHOP_RECORD_AWS_CALLS" && mkdir -p "$SHOP_RECORD_AWS_CALLS"
# Short enough that the end-to-end test sees an unpaid order expire.
export ORDER_TTL_SECONDS=12 SCHEDULE_INTERVAL_SECONDS=2
# Failed messages come back after 2 s, so the DLQ test takes seconds, not minutes.
export QUEUE_VISIBILITY_TIMEOUT_SECONDS=2
# Paid orders wait 3 s before shipping: time for the refund-before-shipping test.
export SHIPPING_DELAY_SECONDS=3
stack_start_emulator
stack_build
cargo test --workspace --no-run --quiet
stack_setup
stack_start_functions --ignore-changes
stack_start_gateway

export SHOP_API_URL="http://127.0.0.1:$API_PORT"
export SHOPCTL="$ROOT/target/debug/shopctl"
log="$STACK_LOGS/cargo-test.log"
# The emulator first: if it is not atomic, or its queues do not redrive, no
# other result below would mean anything.
say "checking that the emulator at $AWS_ENDPOINT_URL behaves as DynamoDB and SQS do"
set +e
cargo test -p shop-tests --test integration conformance:: 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || die "the emulator at $AWS_ENDPOINT_URL broke a behaviour the shop relies on (the failing test names it); no shop test was run"

say "running the tests (gateway on $SHOP_API_URL; logs in .local/logs)"
set +e
cargo test --workspace --no-fail-fast -- --skip conformance:: 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
# The admin console in a real browser, against this stack.
if [ "$status" = 0 ]; then
  set +e
  stack_test_console 2>&1 | tee "$STACK_LOGS/console-test.log" | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
fi
# Contract fuzzing of this stack from openapi.yaml: fixed seed, few examples.
rm -f "$STACK_LOGS/fuzz.log"
if [ "$status" = 0 ]; then
  set +e
  FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-20}" FUZZ_SEED="${FUZZ_SEED:-42}" \
    bash "$ROOT/scripts/fuzz.sh" 2>&1 | tee "$STACK_LOGS/fuzz.log" | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
fi
# A short seeded chaos run on a stack of its own: the invariants under faults.
if [ "$status" = 0 ]; then
  say "chaos: ${CHAOS_OPERATIONS:-300} operations under 10 % faults, seed ${CHAOS_SEED:-42}"
  set +e
  CHAOS_OPERATIONS="${CHAOS_OPERATIONS:-300}" CHAOS_SEED="${CHAOS_SEED:-42}" \
    bash "$ROOT/scripts/chaos.sh" --settle-secs 90 --out "$ROOT/.local/chaos-test.md" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
fi
# What each function did in the runs above against what template.yaml
# grants it: an operation performed without a grant would be AccessDenied on
# AWS (a failure); grants never used are listed (scripts/least_privilege.py).
if [ "$status" = 0 ]; then
  say "least privilege: AWS operations performed (.local/aws-calls) against template.yaml's grants"
  set +e
  python3 "$ROOT/scripts/least_privilege.py" --calls "$SHOP_RECORD_AWS_CALLS" \
    --out "$ROOT/.local/least-privilege.md" --min-exercised 25 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
fi
summary=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
               END { printf "%d passed, %d failed", p, f }' "$log")
say "make test finished in $((SECONDS - started)) s (emulator: $STACK_EMULATOR)"
echo "tests: $summary"
fuzzed=$(grep -A1 '^Test cases:' "$STACK_LOGS/fuzz.log" 2>/dev/null | tail -1 | sed 's/^ *//')
[ -z "$fuzzed" ] || echo "fuzzing: $fuzzed"
browser=$(grep -E '^ *[0-9]+ (passed|failed)' "$STACK_LOGS/console-test.log" 2>/dev/null | sed 's/^ *//' | paste -sd, -)
[ -z "$browser" ] || echo "browser tests: $browser"
exit "$status"
