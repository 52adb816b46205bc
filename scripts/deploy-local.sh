#!/usr/bin/env bash
# `make deploy-local`: the real template.yaml, built by the pinned SAM CLI
# and deployed with `sam deploy` to a LocalStack-compatible emulator.
#
# Without AWS_ENDPOINT_URL it starts MiniStack (all services) on
# 127.0.0.1:$DEPLOY_PORT (4566) in the background, where it stays until
# `make undeploy-local`. With AWS_ENDPOINT_URL (say a real LocalStack on
# http://localhost:4566) it deploys there and starts nothing.
#
# Functions are built for this machine's architecture with a fast profile
# (SAM_BUILD_MODE=debug: cargo's dev profile, incremental), not the fat-LTO
# release build of `make package`. After `sam deploy`, scripts/deploy_local.py
# applies what the emulator leaves out (docs/testing.md, "Deployed locally"), then
# writes .local/deploy/env for the end-to-end tests and prints the API's URL.
set -euo pipefail
# say, die, port_free, wait_for_port and ROOT (nothing is started by sourcing it).
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$ROOT"

bash scripts/bootstrap.sh sam
export PATH="$ROOT/.tools/venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0 SAM_BUILD_MODE=debug
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
state="$ROOT/.local/deploy"
stack="${DEPLOY_STACK:-shop-local}"
mkdir -p "$state"
started=$SECONDS

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  port="${DEPLOY_PORT:-4566}"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  if [ -f "$state/emulator.pid" ] && kill -0 "$(cat "$state/emulator.pid")" 2>/dev/null \
    && [ "$(cat "$state/emulator.auth" 2>/dev/null)" = enforced-2 ]; then
    say "MiniStack already running on $AWS_ENDPOINT_URL, IAM enforced"
  else
    [ -f "$state/emulator.pid" ] && bash "$ROOT/scripts/undeploy-local.sh" && mkdir -p "$state"
    port_free "$port" || die "port $port is taken; set DEPLOY_PORT, or AWS_ENDPOINT_URL to deploy to what listens there"
    say "starting MiniStack on $AWS_ENDPOINT_URL with IAM enforced (AUTH=true; logs: .local/deploy/emulator.log)"
    # AUTH=true: every call is checked against IAM, and each function runs
    # under session credentials of its own execution role, as on AWS. The
    # deploy itself signs with MiniStack's root credentials (its own
    # AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, test/test here, as its README
    # says). AWS_ENDPOINT_URL in its own environment: the functions it runs
    # inherit it, so their SDK calls come back to the emulator.
    # SHOP_RECORD_AWS_CALLS: the functions record the AWS operations they
    # perform, for make test-deployed's least-privilege report.
    mkdir -p "$state/aws-calls"
    # scripts/ministack_iam.py is MiniStack with one gap filled: GetParameters
    # authorised per parameter, as AWS does (see the script).
    setsid env GATEWAY_PORT="$port" BIND_HOST=127.0.0.1 PERSIST_STATE=0 LOG_LEVEL=WARNING AUTH=true \
      SHOP_RECORD_AWS_CALLS="$state/aws-calls" \
      python "$ROOT/scripts/ministack_iam.py" < /dev/null > "$state/emulator.log" 2>&1 &
    echo $! > "$state/emulator.pid"
    echo enforced-2 > "$state/emulator.auth"
    STACK_LOGS="$state" wait_for_port emulator "$port" 60
  fi
fi

case "$(uname -m)" in
  x86_64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Lambda architecture for $(uname -m)" ;;
esac
# The settings of a local deploy, as near make test's as the template
# allows: the sandbox provider, the shortest expiry and visibility timeout,
# a 3 s grace before shipping. Secrets are created by deploy_local.py.
overrides=(
  "Architecture=$arch" "PaymentProvider=sandbox" "OrderTtlSeconds=60" "AlarmEmail=alarms@example.com"
  "LoginFailuresPerAddress=1000000" "RegistrationsPerAddress=1000000"
  "QueueVisibilityTimeoutSeconds=20" "ShippingDelaySeconds=3"
  "JwtSecretParameter=/$stack/jwt-secret" "CursorSecretParameter=/$stack/cursor-secret"
  "AccountTokenSecretParameter=/$stack/account-token-secret"
  "StripeApiKeyParameter=/$stack/stripe-api-key" "PaymentWebhookSecretParameter=/$stack/payment-webhook-secret"
  "CarrierWebhookSecretParameter=/$stack/carrier-webhook-secret" "Carrier=sandbox"
  # The end-to-end tests change markets and rates and price at once.
  "ConfigCacheSeconds=0"
  # The ECB's file as make test-deployed serves it (scripts/ecb_stub.py).
  "FxRatesUrl=http://127.0.0.1:${ECB_STUB_PORT:-8788}/stats/eurofxref/eurofxref-daily.xml"
)

# The admin console's files, which the admin-console function serves.
stack_build_console
say "sam build ($arch, debug profile)"
build_started=$SECONDS
sam=("$ROOT/.tools/sam/bin/sam")
"${sam[@]}" build --template-file template.yaml --build-dir "$ROOT/.aws-sam/local" \
  --parameter-overrides "${overrides[@]}" > "$state/build.log" 2>&1 \
  || { tail -40 "$state/build.log" >&2; die "sam build failed (log: .local/deploy/build.log)"; }
build_secs=$((SECONDS - build_started))

say "secrets into Parameter Store, then sam deploy of stack $stack to $AWS_ENDPOINT_URL"
"$ROOT/.tools/sam/bin/python" scripts/deploy_local.py secrets --stack "$stack"
deploy_started=$SECONDS
"${sam[@]}" deploy --template-file "$ROOT/.aws-sam/local/template.yaml" --stack-name "$stack" \
  --resolve-s3 --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-confirm-changeset --no-fail-on-empty-changeset \
  --parameter-overrides "${overrides[@]}" > "$state/deploy.log" 2>&1 \
  || { tail -40 "$state/deploy.log" >&2; die "sam deploy failed (log: .local/deploy/deploy.log)"; }
"$ROOT/.tools/sam/bin/python" scripts/deploy_local.py after-deploy --stack "$stack" --env "$state/env"
say "deployed in $((SECONDS - started)) s (sam build $build_secs s, sam deploy and fixes $((SECONDS - deploy_started)) s)"
