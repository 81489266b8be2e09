#!/usr/bin/env bash
# Fuzzes the API with schemathesis (pinned in infra/requirements.txt) against a
# freshly started local stack on a free port: examples, coverage, fuzzing and
# stateful phases with every check (infra/schemathesis.toml). Fails on any 5xx,
# any response outside the document, any schema-valid request refused without the
# document saying why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"; report="$(mktemp -d)"
# Fuzzing creates hundreds of codes in minutes: lift the SMS limits for this run.
OTA_PORT="$port" OTA_SMS_PER_USER_PER_HOUR=100000 OTA_SMS_PER_INTERCOM_PER_HOUR=100000 \
  ./target/debug/local-stack >"$log" 2>&1 &
stack=$!
trap 'kill $stack 2>/dev/null || true; rm -rf "$log" "$report"' EXIT
export API="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -sf "$API/openapi.yaml" >/dev/null 2>&1 && break
  kill -0 $stack 2>/dev/null || { cat "$log"; echo "local stack died" >&2; exit 1; }
  sleep 0.5
done
OWNER="$(curl -sf "$API/_local/token/user-owner")"
export OWNER
# Room for the codes the run makes.
curl -sf -X PUT "$API/intercoms/ic-demo/settings" -H "Authorization: Bearer $OWNER" \
  -H 'content-type: application/json' \
  -d '{"entry_gate":"gate-main","exit_gate":"gate-exit","max_users":100,"invite_duration_minutes":720}' >/dev/null
# infra/schemathesis_hooks.py adds the body hash CloudFront needs on guest requests.
fuzz() {
  PYTHONPATH=infra SCHEMATHESIS_HOOKS=schemathesis_hooks \
    .venv/bin/schemathesis --config-file infra/schemathesis.toml run "$API/openapi.yaml" \
    --no-color --report junit --report-dir "$report" "$@"
}
fuzz --phases examples,coverage,fuzzing "$@"
# The stateless phases fill the intercom's places with codes no link leads to; let
# them expire (the stack's clock moves on 13 h) so the stateful phase's creates
# succeed and their links are followed to revoke, status, entry and exit.
curl -sf -X POST "$API/_local/clock?advance_minutes=780" >/dev/null
fuzz --phases stateful "$@"
