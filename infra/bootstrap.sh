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

# The guest page: npm packages pinned by package-lock.json (esbuild builds it,
# jsQR is its decoder; playwright-core and axe-core drive the browser tests), then
# the build into infra/guest-page/dist, which the local stack serves.
page="$root/infra/guest-page"
page_stamp="$page/node_modules/.lock.sha"
page_want="$(sha256sum "$page/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$page_stamp" 2>/dev/null)" != "$page_want" ]; then
  (cd "$page" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$page_want" > "$page_stamp"
fi
node "$page/build.mjs" >/dev/null

# The generated API client's check (tests/client): openapi-typescript, openapi-fetch,
# TypeScript, ajv and Redocly CLI, pinned by its package-lock.json.
client="$root/tests/client"
client_stamp="$client/node_modules/.lock.sha"
client_want="$(sha256sum "$client/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$client_stamp" 2>/dev/null)" != "$client_want" ]; then
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$client_want" > "$client_stamp"
fi
