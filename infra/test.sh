#!/usr/bin/env bash
# Every test: template lint, unit and integration tests, the README walk-through
# against a real local stack, and the guest page in headless Chromium. Ends with
# one summary line of all tests run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/bootstrap.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "The guest page is tested in Debian's Chromium: apt-get install chromium (.ci/run does)." >&2
  exit 1
fi
# The template: cfn-lint with awslabs' serverless rules, SAM's own validation, the
# CloudFront headers policy still what headers.json says.
bash infra/bootstrap-deploy.sh
.venv-deploy/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules
.venv-deploy/bin/cfn-lint infra/guest-waf.yaml
SAM_CLI_TELEMETRY=0 .venv-deploy/bin/sam validate --lint
node infra/guest-page/cloudfront-headers.mjs --check
# The deploy preflight against recorded AWS answers, and samconfig.toml as SAM CLI reads it.
preflight_log="$(mktemp)"
.venv-deploy/bin/python -m unittest discover -s infra -p 'test_*.py' 2>&1 | tee "$preflight_log"
# The local emulator's own patches (infra/moto_server.py), in the moto venv.
.venv/bin/python -m unittest infra/moto_server_test.py 2>&1 | tee -a "$preflight_log"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The workspace build unifies features; each function must also build with only its own.
for function in get-settings create-invite redeem-entry gate-events; do cargo check --quiet -p "$function"; done
log="$(mktemp)"
tap="$(mktemp)"
client_tap="$(mktemp)"
trap 'rm -f "$log" "$tap" "$client_tap"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# The flood test runs alone: 300 requests a second would slow the tests beside it.
cargo test -p ota-tests --test api -- --ignored --exact edge::a_flood_of_junk_and_real_links_does_not_stop_a_real_guest 2>&1 | tee -a "$log"
cargo build -p local-stack -p ota-admin
bash infra/check-readme.sh
# schemathesis against the local stack's OpenAPI (bounded: about half a minute).
bash infra/fuzz-api.sh
# The contract as the app's developers meet it: the document linted by Redocly CLI
# (tests/client/redocly.yaml says which rule is off and why), a client generated from
# it by openapi-typescript and type-checked by tsc, driving the owner's and a guest's
# flows against a local stack with every answer validated against the document.
(
  cd tests/client
  npx --no-install redocly lint --config redocly.yaml ../../infra/openapi.yaml
  npx --no-install openapi-typescript ../../infra/openapi.yaml -o generated/api.d.ts
  npx --no-install tsc -p .
)
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$client_tap" tests/client/build/
# One file, one Chromium per fake camera; the tests share one local stack and run in order.
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" tests/browser/
passed=$(awk '/^test result:/{for(i=1;i<=NF;i++) if($i ~ /^passed;?$/) s+=$(i-1)} END{print s+0}' "$log")
failed=$(awk '/^test result:/{for(i=1;i<=NF;i++) if($i ~ /^failed;?$/) s+=$(i-1)} END{print s+0}' "$log")
node_passed=$(awk '/^# pass /{s+=$3} END{print s+0}' "$tap" "$client_tap")
node_failed=$(awk '/^# fail /{s+=$3} END{print s+0}' "$tap" "$client_tap")
preflight_passed=$(awk '/^Ran [0-9]+ tests?/{s+=$2} END{print s+0}' "$preflight_log")
rm -f "$preflight_log"
# The README walk-through and the API fuzzing count as one more test each.
echo "$((passed + 2 + node_passed + preflight_passed)) passed, $((failed + node_failed)) failed"
