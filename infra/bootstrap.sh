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

# npm packages pinned by a folder's package-lock.json, installed again only when the
# lock changes.
npm_ci_when_lock_changes() {
  local stamp="$1/node_modules/.lock.sha"
  local want
  want="$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}

# The guest page (esbuild builds it, jsQR is its decoder; playwright-core and
# axe-core drive the browser tests), then the build into infra/guest-page/dist, which
# the local stack serves.
npm_ci_when_lock_changes "$root/infra/guest-page"
node "$root/infra/guest-page/build.mjs" >/dev/null

# The generated API client's check (tests/client): openapi-typescript, openapi-fetch,
# TypeScript, ajv and Redocly CLI.
npm_ci_when_lock_changes "$root/tests/client"
