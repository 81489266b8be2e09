#!/usr/bin/env bash
# `make package`: `sam build` unattended (samconfig.toml opts in to the Rust builder),
# every function cross-compiled for arm64 by cargo-lambda with zig, both pinned in
# .venv-deploy; then the size of each function's zip as Lambda will get it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/bootstrap-deploy.sh --package
export PATH="$root/.venv-deploy/bin:$PATH" SAM_CLI_TELEMETRY=0
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "package: adding the Rust standard library for aarch64 (rustup target add)" >&2
  rustup target add aarch64-unknown-linux-gnu
fi
sam build --config-env "${CONFIG_ENV:-default}"
echo
printf '%-24s %14s %14s\n' function 'bootstrap (B)' 'zip (B)'
for dir in .aws-sam/build/*Function; do
  [ -f "$dir/bootstrap" ] || continue
  zip_bytes="$(python3 -c 'import io, sys, zipfile
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buffer.getvalue()))' "$dir/bootstrap")"
  printf '%-24s %14s %14s\n' "$(basename "$dir")" "$(stat -c %s "$dir/bootstrap")" "$zip_bytes"
done
