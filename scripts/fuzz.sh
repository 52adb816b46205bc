#!/usr/bin/env bash
# Contract fuzzing: schemathesis (pinned in .tools/fuzz) generates requests
# from openapi.yaml and checks every answer against it (configuration in
# tests/fuzz/schemathesis.toml, hooks in tests/fuzz/hooks.py). Non-zero on
# any failure; the report is in .local/fuzz/.
#
# With SHOP_API_URL set (make test) it fuzzes that stack, which must be
# ours (TABLE_NAME, AWS_ENDPOINT_URL: it creates an admin there); otherwise
# (make fuzz) it starts a stack of its own.
#
#   FUZZ_EXAMPLES (200)   generated cases per operation and phase
#   FUZZ_SEED (random)    the seed; the same seed and stack state repeat a run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"

stack_init
started=$SECONDS
if [ -z "${SHOP_API_URL:-}" ]; then
  STACK_LOGS="$ROOT/.local/logs/fuzz"
  stack_isolate fuzz
  export ORDER_TTL_SECONDS=60 SCHEDULE_INTERVAL_SECONDS=5 QUEUE_VISIBILITY_TIMEOUT_SECONDS=5
  stack_up
fi

# One customer and one admin of this run; their tokens live an hour.
run="fuzz-$(date +%s)-$$"
password="fuzz password of $run"
token() { # email password
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' < <(
    curl -sf -X POST "$SHOP_API_URL/auth/login" -H 'content-type: application/json' \
      -d "{\"email\": \"$1\", \"password\": \"$2\"}") || die "could not log in as $1 at $SHOP_API_URL"
}
curl -sf -o /dev/null -X POST "$SHOP_API_URL/auth/register" -H 'content-type: application/json' \
  -d "{\"email\": \"$run-customer@example.com\", \"password\": \"$password\", \"name\": \"Fuzz customer\"}" \
  || die "could not register the fuzzing customer at $SHOP_API_URL"
# Verified through the outbox, as a customer is: the token from the email
# the shop sent, as the emulator's SES lists it.
python3 - "$run-customer@example.com" <<'PY' || die "could not verify the fuzzing customer"
import json, os, re, sys, time, urllib.request
email, endpoint, api = sys.argv[1], os.environ["AWS_ENDPOINT_URL"].rstrip("/"), os.environ["SHOP_API_URL"]
deadline = time.time() + 60
while time.time() < deadline:
    listed = json.load(urllib.request.urlopen(f"{endpoint}/_ministack/ses/messages"))
    for messages in (listed.get("messages") or {}).values():
        for m in messages:
            found = re.search(r"\?token=([A-Za-z0-9_-]{43})", m.get("BodyText") or "")
            if email in (m.get("To") or []) and found:
                request = urllib.request.Request(f"{api}/auth/verify", method="POST",
                    data=json.dumps({"token": found.group(1)}).encode(), headers={"content-type": "application/json"})
                urllib.request.urlopen(request)
                sys.exit(0)
    time.sleep(0.25)
sys.exit(1)
PY
"$ROOT/target/debug/shopctl" --env-file none create-admin --email "$run-admin@example.com" \
  --password "$password" --name "Fuzz admin" > /dev/null
export SHOP_FUZZ_CUSTOMER_TOKEN="$(token "$run-customer@example.com" "$password")"
export SHOP_FUZZ_ADMIN_TOKEN="$(token "$run-admin@example.com" "$password")"

examples="${FUZZ_EXAMPLES:-200}"
seed="${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}"
report="$ROOT/.local/fuzz"
mkdir -p "$report"
say "fuzzing $SHOP_API_URL from openapi.yaml: $examples examples per operation, seed $seed (FUZZ_SEED=$seed repeats it)"
set +e
"$ROOT/.tools/fuzz/bin/schemathesis" --no-color --config-file tests/fuzz/schemathesis.toml run openapi.yaml \
  --url "$SHOP_API_URL" --max-examples "$examples" --seed "$seed" \
  --report junit --report-dir "$report" "$@"
status=$?
set -e
say "fuzzing finished in $((SECONDS - started)) s (seed $seed, $examples examples per operation)"
exit "$status"
