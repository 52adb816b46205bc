#!/usr/bin/env bash
# `make bench`: release-built functions, run as Lambda runs them, against the
# local emulator; prints a table of size (raw and zipped), init (median of
# several cold starts), files opened during init, first and warm latency,
# peak RSS and DynamoDB requests per invocation, each beside its ratio to a
# hello-world Lambda built the same way (tools/bench-hello). Figures to
# report, never asserted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
functions="${BENCH_FUNCTIONS:-products-get,products-list,users-get-me,orders-create,auth-login}"
export EMULATOR_PORT="$(free_port)" TABLE_NAME="shop-bench-$$" QUEUE_PREFIX="shop-bench-$$-"
# One customer places every benchmarked order: the hoarding limit would stop it.
export MAX_UNPAID_ORDERS=1000
# Markets and rates cached as deployed (ConfigCacheSeconds, 60): a warm
# function prices without reading them (local.env's 0 is for tests).
export CONFIG_CACHE_SECONDS=60
stack_start_emulator
say "building $functions in release (lto, one codegen unit: minutes)"
cargo build --release -p bench-hello $(printf -- '-p %s ' ${functions//,/ })
cargo build -p bench -p shopctl
stack_setup
say "benchmarking on $(nproc) cores; ${BENCH_ITERATIONS:-200} warm invocations each"
"$ROOT/target/debug/bench" --iterations "${BENCH_ITERATIONS:-200}" --functions "$functions" | tee "$ROOT/.local/bench.md"
