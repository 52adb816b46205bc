#!/usr/bin/env bash
# Installs the pinned local tools into .tools/ (git-ignored), one venv per
# requirements file. Idempotent and fast when everything is already there.
# Needs only python3 and the Rust toolchain; everything else comes from PyPI.
#
#   scripts/bootstrap.sh          the tools `make dev` and `make test` need
#   scripts/bootstrap.sh sam      and the SAM CLI (make package, deploy-local)
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
if [ "${1:-}" = sam ]; then
  venv sam requirements-sam.txt "the AWS SAM CLI"
fi
