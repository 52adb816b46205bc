#!/usr/bin/env bash
# `make dev`: the whole shop on http://127.0.0.1:$API_PORT until Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
stack_start_emulator
stack_build
stack_setup
STACK_VERBOSE=1 stack_start_functions
STACK_VERBOSE=1 stack_start_gateway
say "the shop is up on http://127.0.0.1:$API_PORT (Ctrl-C stops everything)"
say "  exchange rates: the ECB's file as the gateway serves it ($FX_RATES_URL), read now and hourly; GET /fx-rates as an admin shows them"
say "  the admin console: http://127.0.0.1:$API_PORT/admin/ (rebuild it with: cd console && npm run build)"
say "  functions rebuild on change; an admin: cargo run -p shopctl -- create-admin --email E --password P --name N"
wait -n "${STACK_PIDS[@]}" || true
die "a process of the stack stopped; stopping the rest"
