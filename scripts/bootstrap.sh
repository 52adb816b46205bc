#!/usr/bin/env bash
# Installs the pinned local tools into .tools/ (git-ignored). Idempotent and
# fast when everything is already there. Needs only python3 and the Rust
# toolchain; everything else comes from PyPI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
stamp="$venv/.requirements"
req="$root/scripts/requirements-tools.txt"

if ! { [ -f "$stamp" ] && cmp -s "$stamp" "$req"; }; then
  echo "==> installing local tools into .tools/ (cargo-lambda, MiniStack, moto, cfn-lint, openapi-spec-validator, stripe; one-time, about a minute)" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi

# checkov in a venv of its own: its dependencies pin versions the others
# do not want.
checkov="$root/.tools/checkov"
checkov_req="$root/scripts/requirements-checkov.txt"
if ! { [ -f "$checkov/.requirements" ] && cmp -s "$checkov/.requirements" "$checkov_req"; }; then
  echo "==> installing checkov into .tools/checkov (one-time, about a minute)" >&2
  python3 -m venv "$checkov"
  "$checkov/bin/python" -m pip install --quiet --disable-pip-version-check -r "$checkov_req" >&2
  cp "$checkov_req" "$checkov/.requirements"
fi
