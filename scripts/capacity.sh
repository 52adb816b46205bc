#!/usr/bin/env bash
# `make capacity`: the local stack with a metering proxy between the
# functions and the emulator, driven through the gateway by two scenarios
# (store-wide, flash sale). Prints, per scenario, the hottest partitions of
# the table and its indexes per order and the orders/s they allow under
# DynamoDB's per-partition limits. Figures to report, never asserted (the
# flash sale's exactness is: the run fails if it sells more or less than
# its stock).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
stack_isolate capacity
# Unpaid orders expire within the run; the schedule fires every 2 s.
export ORDER_TTL_SECONDS=15 SCHEDULE_INTERVAL_SECONDS=2 QUEUE_VISIBILITY_TIMEOUT_SECONDS=5
# Markets and rates cached as deployed (ConfigCacheSeconds, 60), so the
# figures are a deployed order's (local.env's 0 is for tests).
export CONFIG_CACHE_SECONDS=60
# Buyers are not verified through the emulator's email list (a list of
# every email sent, read once per buyer, grows with the run): verification
# costs no request of an order (it is read with the token version), so the
# figures are a deployed order's either way.
export REQUIRE_VERIFIED_EMAIL=false
stack_start_emulator
stack_build
stack_setup
export CAPACITY_ADMIN_EMAIL="capacity-admin@example.com" CAPACITY_ADMIN_PASSWORD="capacity admin password"
"$ROOT/target/debug/shopctl" --env-file none create-admin --email "$CAPACITY_ADMIN_EMAIL" \
  --password "$CAPACITY_ADMIN_PASSWORD" --name Admin > /dev/null

meter_port="$(free_port)"
say "metering DynamoDB between the functions and the emulator (port $meter_port)"
STACK_VERBOSE=0 stack_spawn meter "$ROOT/target/debug/stress" proxy --meter --upstream "$AWS_ENDPOINT_URL" --port "$meter_port"
wait_for_port meter "$meter_port" 30
export CAPACITY_METER_URL="http://127.0.0.1:$meter_port"
# The functions and the gateway reach DynamoDB and SQS through the meter.
export AWS_ENDPOINT_URL="$CAPACITY_METER_URL"
stack_start_functions --ignore-changes
stack_start_gateway
export SHOP_API_URL="http://127.0.0.1:$API_PORT"

say "running the scenarios (report in .local/capacity.md)"
"$ROOT/target/debug/stress" capacity "$@"
