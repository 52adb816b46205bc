#!/usr/bin/env bash
# Installs the pinned local tools into .tools/ (git-ignored). Idempotent and
# fast when everything is already there. Needs only python3 and the Rust
# toolchain; everything else comes from PyPI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
stamp="$venv/.requirements"
req="$root/scripts/requirements-tools.txt"

if [ -f "$stamp" ] && cmp -s "$stamp" "$req"; then
  exit 0
fi
echo "==> installing local tools into .tools/ (cargo-lambda, MiniStack, moto, cfn-lint, openapi-spec-validator; one-time, about a minute)" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
cp "$req" "$stamp"
