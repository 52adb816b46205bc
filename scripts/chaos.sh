#!/usr/bin/env bash
# `make chaos`: the local stack with faults injected everywhere a real
# deployment meets them: a proxy between the functions (and the gateway's
# queue pollers) and the emulator, a Stripe stand-in with a ledger for the
# provider, and crashes in the gateway's invocations. A mixed workload runs
# through the gateway, the faults stop, the stack settles, and the
# invariants are checked and printed (report in .local/chaos.md). Non-zero
# on any violation.
#
#   CHAOS_OPERATIONS (2000)  client operations
#   CHAOS_FAULT_RATE (0.1)   share of DynamoDB, SQS and provider calls that fail
#   CHAOS_CRASH_RATE (0.02)  share of invocations whose answer is lost
#   CHAOS_KILL_EVERY (5)     seconds between SIGKILLs of function instances (0: none)
#   CHAOS_SEED (random)      the seed of the workload and of every fault plan
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
STACK_LOGS="$ROOT/.local/logs/chaos"
stack_isolate chaos
# Unpaid orders expire within the run; failed messages come back in 3 s.
export ORDER_TTL_SECONDS=15 SCHEDULE_INTERVAL_SECONDS=2 QUEUE_VISIBILITY_TIMEOUT_SECONDS=3
export SHIPPING_DELAY_SECONDS=1 RECONCILE_GRACE_SECONDS=10
seed="${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}"
stack_start_emulator
stack_build
stack_setup
export CHAOS_ADMIN_EMAIL="chaos-admin@example.com" CHAOS_ADMIN_PASSWORD="chaos admin password"
"$ROOT/target/debug/shopctl" --env-file none create-admin --email "$CHAOS_ADMIN_EMAIL" \
  --password "$CHAOS_ADMIN_PASSWORD" --name Admin > /dev/null

provider_port="$(free_port)"
STACK_VERBOSE=0 stack_spawn provider "$ROOT/target/debug/stress" provider --port "$provider_port"
wait_for_port provider "$provider_port" 30
proxy_port="$(free_port)"
STACK_VERBOSE=0 stack_spawn proxy "$ROOT/target/debug/stress" proxy --upstream "$AWS_ENDPOINT_URL" --port "$proxy_port"
wait_for_port proxy "$proxy_port" 30
export CHAOS_EMULATOR_URL="$AWS_ENDPOINT_URL" CHAOS_PROXY_URL="http://127.0.0.1:$proxy_port"
export CHAOS_PROVIDER_URL="http://127.0.0.1:$provider_port"
# The functions and the gateway reach DynamoDB and SQS through the proxy,
# and pay through the Stripe adapter against the stand-in.
export AWS_ENDPOINT_URL="$CHAOS_PROXY_URL"
export PAYMENT_PROVIDER=stripe STRIPE_API_BASE="$CHAOS_PROVIDER_URL" STRIPE_API_KEY=sk_test_chaos
export GATEWAY_CRASH_RATE="${CHAOS_CRASH_RATE:-0.02}" GATEWAY_CRASH_SEED="$seed"
stack_start_functions --ignore-changes
functions_pid="${STACK_PIDS[-1]}"
stack_start_gateway
export SHOP_API_URL="http://127.0.0.1:$API_PORT"

# Function instances killed mid-invocation, for real: every
# CHAOS_KILL_EVERY seconds a random instance of a function that writes, with
# a sibling left, gets SIGKILL (cargo-lambda does not replace a killed
# instance, so a function's last one is spared; Lambda would start a new one).
kill_instances() {
  local every="$1" log="$STACK_LOGS/kills.log" rng="$seed"
  : > "$log"
  while sleep "$every"; do
    rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
    mapfile -t instances < <(for pid in $(descendants "$functions_pid"); do
      ps -o pid=,args= -p "$pid" 2>/dev/null; done | awk '$2 ~ /^target\/debug\// && $2 !~ /(auth-|users-|-get$|-list$)/ {print $1, $2}')
    [ "${#instances[@]}" -gt 0 ] || continue
    local pick="${instances[$(( rng % ${#instances[@]} ))]}"
    local pid="${pick%% *}" binary="${pick#* }"
    [ "$(printf '%s\n' "${instances[@]}" | grep -c " $binary\$")" -ge 2 ] || continue
    kill -KILL "$pid" 2>/dev/null && echo "$(date +%T) killed $binary ($pid)" >> "$log"
  done
}
kills=""
if [ "${CHAOS_KILL_EVERY:-5}" != 0 ]; then
  kill_instances "${CHAOS_KILL_EVERY:-5}" &
  kills=$!
  trap 'kill "$kills" 2>/dev/null || true; stack_stop' EXIT
fi

say "chaos: seed $seed (CHAOS_SEED=$seed reproduces the plan); logs in $STACK_LOGS"
set +e
"$ROOT/target/debug/stress" chaos --seed "$seed" \
  --operations "${CHAOS_OPERATIONS:-2000}" --fault-rate "${CHAOS_FAULT_RATE:-0.1}" "$@"
status=$?
set -e
[ -z "$kills" ] || kill "$kills" 2>/dev/null || true
echo "Function instances killed mid-run: $(wc -l < "$STACK_LOGS/kills.log" 2>/dev/null || echo 0) (SIGKILL; list in $STACK_LOGS/kills.log)"
exit "$status"
