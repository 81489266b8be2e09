#!/usr/bin/env bash
# The deployment tools in their own venv (.venv-deploy): SAM CLI and the template
# linters always (make test lints with them); with --package also cargo-lambda and zig,
# which `sam build` calls to cross-compile the functions for arm64.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-deploy"
files=("$root/infra/requirements-deploy.txt")
[ "${1:-}" = "--package" ] && files+=("$root/infra/requirements-package.txt")
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
for file in "${files[@]}"; do
  stamp="$venv/.$(basename "$file").sha"
  want="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$file"
    echo "$want" > "$stamp"
  fi
done
