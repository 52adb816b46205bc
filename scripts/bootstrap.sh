#!/usr/bin/env bash
# Installs the pinned local tools into .tools/ (git-ignored), one venv per
# requirements file. Idempotent and fast when everything is already there.
# Needs only python3, Node.js with npm and the Rust toolchain; everything else
# comes from PyPI, the npm registry and Debian.
#
#   scripts/bootstrap.sh          the tools `make dev` and `make test` need
#   scripts/bootstrap.sh sam      and the SAM CLI (make package, deploy-local)
#   scripts/bootstrap.sh browser  and Debian's Chromium (the console's browser tests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# venv DIR REQUIREMENTS WHAT: (re)install when the requirements changed.
venv() {
  local dir="$root/.tools/$1" req="$root/scripts/$2"
  if ! { [ -f "$dir/.requirements" ] && cmp -s "$dir/.requirements" "$req"; }; then
    echo "==> installing $3 into .tools/$1 (one-time, about a minute)" >&2
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    cp "$req" "$dir/.requirements"
  fi
}

venv venv requirements-tools.txt "the local tools (cargo-lambda, MiniStack, moto, cfn-lint, openapi-spec-validator, stripe)"
# checkov, schemathesis and the SAM CLI each in a venv of their own: their dependencies
# pin versions the others do not want.
venv checkov requirements-checkov.txt "checkov"
venv fuzz requirements-fuzz.txt "schemathesis (contract fuzzing)"
# The admin console's npm packages, exactly as console/package-lock.json pins
# them; npm's cache makes later installs offline. No browser download: the
# browser tests use Debian's Chromium (below).
if ! { [ -f "$root/console/node_modules/.lock" ] && cmp -s "$root/console/node_modules/.lock" "$root/console/package-lock.json"; }; then
  echo "==> installing the admin console's npm packages into console/node_modules (npm ci)" >&2
  (cd "$root/console" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2)
  cp "$root/console/package-lock.json" "$root/console/node_modules/.lock"
fi
# Chromium for the console's browser tests (make test, make test-ui): Debian's.
if [ "${1:-}" = browser ] && ! command -v chromium > /dev/null; then
  echo "==> installing Debian's chromium for the browser tests (apt-get, one-time)" >&2
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" install -y --no-install-recommends chromium > /dev/null ||
    { "${apt[@]}" update > /dev/null && "${apt[@]}" install -y --no-install-recommends chromium > /dev/null; }
fi
if [ "${1:-}" = sam ]; then
  venv sam requirements-sam.txt "the AWS SAM CLI"
fi
