#!/usr/bin/env bash
# `make undeploy-local`: removes what `make deploy-local` made. The MiniStack
# it started is stopped with every process it spawned (the functions'
# instances), which takes the stack with it; a stack deployed to an
# emulator of your own (AWS_ENDPOINT_URL) is deleted with `sam delete`.
set -euo pipefail
# descendants and ROOT (nothing is started by sourcing it).
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
state="$ROOT/.local/deploy"
stack="${DEPLOY_STACK:-shop-local}"

if [ -f "$state/emulator.pid" ]; then
  pid="$(cat "$state/emulator.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    strays=($(descendants "$pid"))
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    for child in "${strays[@]}"; do kill -KILL "$child" 2>/dev/null || true; done
    echo "stopped MiniStack (pid $pid) and ${#strays[@]} processes it had started" >&2
  fi
  rm -rf "$state"
elif [ -n "${AWS_ENDPOINT_URL:-}" ]; then
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0
  "$ROOT/.tools/sam/bin/sam" delete --stack-name "$stack" --no-prompts
  rm -rf "$state"
else
  echo "nothing deployed locally" >&2
fi
