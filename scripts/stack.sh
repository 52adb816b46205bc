# The local stack, shared by `make dev` and `make test`: sourced, not run.
#
#   stack_init              tools, settings (local.env beneath the environment), PATH
#   stack_isolate NAME      free ports, and a table and queues of its own (shop-NAME-<pid>)
#   stack_start_emulator    $EMULATOR (ministack or moto) on 127.0.0.1:$EMULATOR_PORT, unless AWS_ENDPOINT_URL is set
#   stack_build             the admin console (console/dist), then every function
#   stack_setup             table and queues (from shared's one definition); exports queue URLs
#   stack_start_functions   cargo lambda watch on 127.0.0.1:$LAMBDA_INVOKE_PORT
#   stack_start_gateway     the gateway on 127.0.0.1:$API_PORT
#   stack_up                all of the above for a run that does not change the code
#   stack_test_console      the console's browser tests against SHOP_API_URL
#
# Every process is started in its own session and recorded; stack_stop (run
# on exit, Ctrl-C included) ends each whole process group, so nothing
# outlives the script.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_PIDS=()
STACK_LOGS="$ROOT/.local/logs"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The pids of every descendant of $1 (cargo-lambda starts each function
# instance in a session of its own, so process groups alone miss them).
descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

stack_stop() {
  local pid
  local -a strays=()
  for pid in "${STACK_PIDS[@]}"; do strays+=($(descendants "$pid")); done
  for pid in "${STACK_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${STACK_PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${STACK_PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  for pid in "${strays[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  STACK_PIDS=()
}

# Runs "$@" in a new session (its own process group), output to $1's log
# file, or to the terminal when STACK_VERBOSE=1.
stack_spawn() {
  local name="$1"; shift
  mkdir -p "$STACK_LOGS"
  if [ "${STACK_VERBOSE:-0}" = 1 ]; then
    setsid "$@" < /dev/null &
  else
    setsid "$@" < /dev/null > "$STACK_LOGS/$name.log" 2>&1 &
  fi
  STACK_PIDS+=("$!")
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # name port seconds
  local deadline=$((SECONDS + $3))
  until ! port_free "$2"; do
    [ $SECONDS -lt $deadline ] || die "$1 did not start on port $2 within $3 s (see $STACK_LOGS/$1.log)"
    sleep 0.2
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stack_init() {
  cd "$ROOT"
  bash "$ROOT/scripts/bootstrap.sh"
  export PATH="$ROOT/.tools/venv/bin:$PATH"
  # local.env fills in only what the environment leaves unset.
  local key value
  while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
    [ -n "${!key+x}" ] || export "$key=$value"
  done < "$ROOT/local.env"
  trap stack_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# A stack beside any other: free ports, its own table and queues.
stack_isolate() {
  export EMULATOR_PORT="$(free_port)" API_PORT="$(free_port)" LAMBDA_INVOKE_PORT="$(free_port)"
  export TABLE_NAME="shop-$1-$$" QUEUE_PREFIX="shop-$1-$$-" EVENT_BUS_NAME="shop-$1-$$-events"
}

# EMULATOR picks the local DynamoDB and SQS: ministack (the default) or moto
# (behind scripts/moto_serialised.py, which serialises its DynamoDB requests).
stack_start_emulator() {
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    say "using the AWS endpoint $AWS_ENDPOINT_URL (no emulator started)"
    export STACK_EMULATOR="the one at $AWS_ENDPOINT_URL"
    return
  fi
  port_free "$EMULATOR_PORT" || die "port $EMULATOR_PORT (EMULATOR_PORT) is taken; set EMULATOR_PORT or AWS_ENDPOINT_URL"
  local emulator="${EMULATOR:-ministack}"
  say "starting the emulator ($emulator) on 127.0.0.1:$EMULATOR_PORT"
  case "$emulator" in
    ministack)
      STACK_VERBOSE=0 stack_spawn emulator env GATEWAY_PORT="$EMULATOR_PORT" BIND_HOST=127.0.0.1 \
        SERVICES=dynamodb,sqs,ssm,ses,events,dynamodbstreams PERSIST_STATE=0 LOG_LEVEL=WARNING ministack
      ;;
    moto)
      STACK_VERBOSE=0 stack_spawn emulator python "$ROOT/scripts/moto_serialised.py" \
        --host 127.0.0.1 --port "$EMULATOR_PORT"
      ;;
    *) die "EMULATOR=$emulator: expected ministack or moto" ;;
  esac
  wait_for_port emulator "$EMULATOR_PORT" 60
  export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT" STACK_EMULATOR="$emulator"
}

stack_build() {
  stack_build_console
  say "building the workspace (the first build takes several minutes)"
  cargo build --workspace --bins "$@"
}

# The admin console (console/): its typed client generated from openapi.yaml,
# type-checked, bundled into console/dist, which the admin-console function
# serves (debug builds read it from disk; release builds carry it).
stack_build_console() {
  say "building the admin console (console/dist)"
  mkdir -p "$STACK_LOGS"
  (cd "$ROOT/console" && npm run --silent build > "$STACK_LOGS/console-build.log" 2>&1) ||
    die "the admin console did not build (see $STACK_LOGS/console-build.log)"
}

# The console's browser tests (console/tests, Playwright in Debian's
# Chromium) against the stack at SHOP_API_URL; screenshots go to docs/console/.
stack_test_console() {
  bash "$ROOT/scripts/bootstrap.sh" browser
  say "browser tests of the admin console (Playwright, Chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
  (cd "$ROOT/console" && CHROMIUM="$(command -v chromium)" npx playwright test)
}

stack_setup() {
  say "creating table $TABLE_NAME and the queues (prefix $QUEUE_PREFIX)"
  local line
  while IFS= read -r line; do
    export "${line?}"
  done < <("$ROOT/target/debug/shopctl" --env-file none setup)
}

stack_start_functions() {
  port_free "$LAMBDA_INVOKE_PORT" || die "port $LAMBDA_INVOKE_PORT (LAMBDA_INVOKE_PORT) is taken"
  # The gateway stands in for the ECB's rates file (tools/gateway/src/ecb.rs).
  export FX_RATES_URL="${FX_RATES_URL:-http://127.0.0.1:$API_PORT/_local/ecb/eurofxref-daily.xml}"
  say "starting the functions (cargo lambda watch on 127.0.0.1:$LAMBDA_INVOKE_PORT)"
  stack_spawn functions cargo lambda watch \
    --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_INVOKE_PORT" \
    --concurrency "${LAMBDA_CONCURRENCY:-4}" "$@"
  wait_for_port functions "$LAMBDA_INVOKE_PORT" 120
}

# A whole stack for a run that does not change the code: the emulator, the
# build, table and queues, the functions and the gateway; exports SHOP_API_URL.
stack_up() {
  stack_start_emulator
  stack_build
  stack_setup
  stack_start_functions --ignore-changes
  stack_start_gateway
  export SHOP_API_URL="http://127.0.0.1:$API_PORT"
}

stack_start_gateway() {
  port_free "$API_PORT" || die "port $API_PORT (API_PORT) is taken"
  stack_spawn gateway "$ROOT/target/debug/gateway"
  wait_for_port gateway "$API_PORT" 30
}
