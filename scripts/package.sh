#!/usr/bin/env bash
# `make package`: `sam build` of template.yaml with the pinned SAM CLI, as a
# deploy does it (cargo lambda build --release per function, for the
# template's architecture), then the size of every function's artifact, raw
# and zipped. Works offline.
#
#   PACKAGE_ARCH=x86_64 make package    build for x86_64 instead of arm64
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh sam
# cargo-lambda (and its zig) from the tools venv; no telemetry (offline).
export PATH="$root/.tools/venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
arch="${PACKAGE_ARCH:-arm64}"
build_dir="$root/.aws-sam/build"

# The admin console's files, compiled into the admin-console function.
echo "==> building the admin console (console/dist)" >&2
(cd console && npm run --silent build > /dev/null)
echo "==> sam build ($arch, release: fat LTO, one codegen unit; from cold, tens of minutes)" >&2
start=$(date +%s)
"$root/.tools/sam/bin/sam" build --template-file template.yaml --build-dir "$build_dir" \
  --parameter-overrides "Architecture=$arch"
elapsed=$(( $(date +%s) - start ))

"$root/.tools/venv/bin/python" - "$build_dir" "$elapsed" <<'PY'
import io, os, sys, zipfile
build, elapsed = sys.argv[1], int(sys.argv[2])
rows = []
for name in sorted(os.listdir(build)):
    path = os.path.join(build, name, "bootstrap")
    if not os.path.isfile(path):
        continue
    data = open(path, "rb").read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bootstrap", data)
    rows.append((name, len(data), len(buf.getvalue())))
if not rows:
    sys.exit("no function artifacts under " + build)
mb = lambda n: f"{n / 1e6:.1f} MB"
print(f"| function | bootstrap | zipped |\n| --- | ---: | ---: |")
for name, raw, zipped in rows:
    print(f"| {name} | {mb(raw)} | {mb(zipped)} |")
print(f"\n{len(rows)} functions built in {elapsed // 60} min {elapsed % 60} s; "
      f"largest {mb(max(r[1] for r in rows))}, total zipped {mb(sum(r[2] for r in rows))}")
PY
