#!/usr/bin/env bash
# Every test: template lint, unit and integration tests, and the README walk-through
# against a real local stack. Ends with one summary line of all tests run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/bootstrap.sh
.venv/bin/cfn-lint template.yaml
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
cargo build -p local-stack
bash infra/check-readme.sh
passed=$(awk '/^test result:/{for(i=1;i<=NF;i++) if($i ~ /^passed;?$/) s+=$(i-1)} END{print s+0}' "$log")
failed=$(awk '/^test result:/{for(i=1;i<=NF;i++) if($i ~ /^failed;?$/) s+=$(i-1)} END{print s+0}' "$log")
# The README walk-through counts as one more test.
echo "$((passed + 1)) passed, $failed failed"
