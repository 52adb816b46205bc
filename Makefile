# `make dev` runs the shop locally, `make check` is the fast loop (no
# emulator), `make test` tests everything. `make` alone lists the targets.
# They install what they need (pinned) into .tools/ on first use.

.PHONY: help dev check test test-ui bench capacity chaos fuzz tools build package deploy-local undeploy-local test-deployed clean
.DEFAULT_GOAL := help

help: ## These targets and what they do
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

dev: ## Serve the whole shop on http://127.0.0.1:3000 until Ctrl-C
	@bash scripts/dev.sh

check: ## The fast loop: formatting, lints, unit and layer tests, the docs test (no emulator; under a minute warm)
	@bash scripts/check.sh

test: ## Everything: checks, template lint, unit, integration, end-to-end tests, contract fuzzing, chaos, least privilege
	@bash scripts/test.sh

test-ui: ## The admin console's browser tests (Playwright in Debian's Chromium, axe) on a stack of their own; make test runs them too
	@bash scripts/test-ui.sh

bench: ## Cold start, latency, memory and DynamoDB requests of release-built functions
	@bash scripts/bench.sh

capacity: ## What DynamoDB would bill per partition: store-wide, through carts, a flash sale, a flash coupon, the back office
	@bash scripts/capacity.sh

chaos: ## A mixed workload under injected faults, then the shop's invariants (CHAOS_OPERATIONS, CHAOS_FAULT_RATE, CHAOS_SEED)
	@bash scripts/chaos.sh

fuzz: ## Contract fuzzing from openapi.yaml on a stack of its own (FUZZ_EXAMPLES=200, FUZZ_SEED random)
	@bash scripts/fuzz.sh

tools: ## Install the pinned local tools (cargo-lambda, MiniStack, moto, cfn-lint, openapi-spec-validator, checkov, schemathesis)
	@bash scripts/bootstrap.sh

build: ## Release build of every function for Lambda (arm64), as sam build does
	@bash scripts/bootstrap.sh && (cd console && npm run --silent build > /dev/null) && PATH="$(CURDIR)/.tools/venv/bin:$$PATH" cargo lambda build --release --arm64 --workspace

deploy-local: ## sam build + sam deploy of template.yaml to MiniStack with IAM enforced (or AWS_ENDPOINT_URL); prints the API's URL
	@bash scripts/deploy-local.sh

undeploy-local: ## Remove the local deployment and every process it started
	@bash scripts/undeploy-local.sh

test-deployed: ## The end-to-end tests, the console's browser tests, the fuzzing step, the IAM proof and the least-privilege report against the stack of make deploy-local (IAM enforced)
	@bash scripts/test-deployed.sh

package: ## sam build of template.yaml with the pinned SAM CLI, then every artifact's size (PACKAGE_ARCH=x86_64)
	@bash scripts/package.sh

clean: ## Remove the build, the pinned tools and the local state
	cargo clean
	rm -rf .tools .local .aws-sam
