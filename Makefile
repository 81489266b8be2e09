# One entry point. `make run` starts the local stack; `make test` runs every test.
.PHONY: setup run test fresh-check lint build package preflight sms-delivery-status publish-page bench bench-page bench-gate

setup:
	@bash infra/bootstrap.sh

run: setup
	cargo run -p local-stack

test:
	@bash infra/test.sh

# `make test` as CI runs it on a machine that never built the project (see README).
fresh-check:
	@bash infra/fresh-check.sh

# Both template linters (also part of `make test`).
lint: setup
	bash infra/bootstrap-deploy.sh
	.venv-deploy/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules
	.venv-deploy/bin/cfn-lint infra/guest-waf.yaml
	SAM_CLI_TELEMETRY=0 .venv-deploy/bin/sam validate --lint

build:
	cargo build --workspace

# `sam build` for arm64, unattended, with pinned cargo-lambda and zig; prints each
# function's zip size. Not part of `make test` (release builds take minutes).
package:
	bash infra/package.sh

# What a deploy of ENV (dev or prod) needs, checked read-only before CloudFormation runs:
# make preflight ENV=dev (AWS credentials for the account; README, Deploying).
preflight:
	bash infra/bootstrap-deploy.sh
	.venv-deploy/bin/python infra/preflight.py --env $(or $(ENV),dev)

# make sms-delivery-status ENV=dev: once after the first deploy, the account's SMS
# preferences send delivery reports through the stack's role (README, Deploying).
sms-delivery-status:
	bash infra/bootstrap-deploy.sh
	.venv-deploy/bin/python infra/sms_delivery_status.py --env $(or $(ENV),dev)

# Uploads the built guest page to a deployed stack and invalidates CloudFront:
# make publish-page STACK=ota-prod [REGION=eu-west-1]
publish-page: setup
	bash infra/bootstrap-deploy.sh
	.venv-deploy/bin/python infra/publish-page.py --stack $(STACK) $(if $(REGION),--region $(REGION))

# What the guest page transfers (first screen, scan step); results in infra/guest-page/WEIGHT.md.
bench-page: setup
	cargo build -p local-stack
	node tests/browser/page-weight.mjs

# A guest's tap to a confirmed "Gate open" in Chromium on a 400 ms link, and the
# simulated fleet of guests; results in infra/bench/GATE.md.
bench-gate: setup
	cargo build -p local-stack
	node tests/browser/gate-latency.mjs
	OTA_BROWSER_FLEET=$(or $(BROWSER_GUESTS),20) node --test tests/browser/fleet.test.mjs
	cargo run --release -q -p local-stack --bin fleet $(or $(GUESTS),500)

# Cold start, warm CPU, memory, size, AWS requests and cost of every function (release
# builds, fake Runtime API, stub AWS endpoint), and the size of each deployed arm64
# binary (`make package` first); results in infra/bench/RESULTS.md.
# BASELINE=<git rev> measures that revision's functions in the same run.
bench: setup package
	cargo run --release -q -p ota-bench -- --sweep-reads --deployed .aws-sam/build $(if $(BASELINE),--baseline $(BASELINE))
