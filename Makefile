# One entry point. `make run` starts the local stack; `make test` runs every test.
.PHONY: setup run test lint build deploy-build bench bench-page

setup:
	@bash infra/bootstrap.sh

run: setup
	cargo run -p local-stack

test:
	@bash infra/test.sh

lint: setup
	.venv/bin/cfn-lint template.yaml

build:
	cargo build --workspace

# Release binaries for Lambda (arm64). Needs cargo-lambda and ziglang (pip) and the
# aarch64 Rust target; not part of `make test`.
deploy-build:
	sam build

# What the guest page transfers (first screen, scan step); results in infra/guest-page/WEIGHT.md.
bench-page: setup
	cargo build -p local-stack
	node tests/browser/page-weight.mjs

# Cold start, warm CPU, memory, size, AWS requests and cost of every function (release
# builds, fake Runtime API, stub AWS endpoint); results in infra/bench/RESULTS.md.
# BASELINE=<git rev> measures that revision's functions in the same run.
bench: setup
	cargo run --release -q -p ota-bench -- --sweep-reads $(if $(BASELINE),--baseline $(BASELINE))
