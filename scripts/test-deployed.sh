#!/usr/bin/env bash
# `make test-deployed`: the end-to-end tests (tests/tests/api/), the admin
# console's browser tests and the contract fuzzing step of make test
# (scripts/fuzz.sh) against
# the stack `make deploy-local` deployed, through the emulator's API Gateway
# instead of our gateway. The one switch is the environment that
# deploy-local wrote (.local/deploy/env): the API's base URL, the table and
# queues, and the scheduled functions the tests invoke themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
env_file="$ROOT/.local/deploy/env"
[ -f "$env_file" ] || { echo "error: nothing deployed: run make deploy-local first" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
# boto3 (the IAM proof) reads the region from AWS_DEFAULT_REGION.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export PATH="$ROOT/.tools/venv/bin:$PATH"
started=$SECONDS
# The ECB's file, where make deploy-local pointed the deployed fx-refresh.
python3 "$ROOT/scripts/ecb_stub.py" --port "${ECB_STUB_PORT:-8788}" &
ecb_stub=$!
trap 'kill "$ecb_stub" 2>/dev/null || true' EXIT
cargo build -p shopctl --quiet
export SHOPCTL="$ROOT/target/debug/shopctl"
printf '\033[1m==> end-to-end tests against %s\033[0m\n' "$SHOP_API_URL" >&2
set +e
cargo test -p shop-tests --test api --no-fail-fast -- ${TEST_FILTER:-} 2>&1 | tee "$ROOT/.local/deploy/test.log"
status=${PIPESTATUS[0]}
# The admin console in a browser, as the deployed admin-console function
# serves it, opened at /admin (which redirects into its folder).
if [ "$status" = 0 ]; then
  # shellcheck source=scripts/stack.sh
  source "$ROOT/scripts/stack.sh"
  CONSOLE_PAGE=/admin CONSOLE_SCREENSHOTS="$ROOT/.local/deploy/console" stack_test_console 2>&1 | tee "$ROOT/.local/deploy/console-test.log"
  status=${PIPESTATUS[0]}
fi
# Then the contract fuzzing of make test, through the deployed API.
if [ "$status" = 0 ]; then
  FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-20}" FUZZ_SEED="${FUZZ_SEED:-42}" bash "$ROOT/scripts/fuzz.sh" 2>&1 \
    | tee "$ROOT/.local/deploy/fuzz.log"
  status=${PIPESTATUS[0]}
fi
# IAM is enforced (deploy-local starts MiniStack with AUTH=true): show that
# the check can fail. One action taken out of one function's policy makes
# that function's call AccessDenied, naming it; put back, it works again.
if [ "$status" = 0 ]; then
  "$ROOT/.tools/sam/bin/python" "$ROOT/scripts/deploy_local.py" iam-proof --stack "${DEPLOY_STACK:-shop-local}" \
    2>&1 | tee "$ROOT/.local/deploy/iam-proof.log"
  status=${PIPESTATUS[0]}
fi
# What each deployed function did (recorded under SHOP_RECORD_AWS_CALLS,
# which deploy-local set) against what the template grants it.
if [ "$status" = 0 ] && [ -n "${SHOP_RECORD_AWS_CALLS:-}" ]; then
  python3 "$ROOT/scripts/least_privilege.py" --calls "$SHOP_RECORD_AWS_CALLS" \
    --out "$ROOT/.local/deploy/least-privilege.md"
  status=$?
fi
set -e
echo "make test-deployed finished in $((SECONDS - started)) s" >&2
exit "$status"
