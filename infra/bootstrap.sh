#!/usr/bin/env bash
# Installs what the local stack and the tests need that cargo does not: a Python
# venv with the pinned moto. Idempotent and quick when everything is in place.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$root/infra/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/infra/requirements.txt"
  echo "$want" > "$stamp"
fi
