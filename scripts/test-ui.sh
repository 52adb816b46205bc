#!/usr/bin/env bash
# `make test-ui`: the admin console's browser tests alone, against a local
# stack of their own (make test runs them too, on its stack).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
stack_isolate ui
# As make test: paid orders ship after 3 s, so the tests see them shipped.
export SHIPPING_DELAY_SECONDS=3 SCHEDULE_INTERVAL_SECONDS=2 QUEUE_VISIBILITY_TIMEOUT_SECONDS=2
stack_up
export SHOPCTL="$ROOT/target/debug/shopctl"
stack_test_console
