# uoom — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: help demo test test-rust test-python bench-python bench-python-route lint fmt bench build setup-rust fuzz bench-solve bench-compare
.PHONY: test-node bench-node

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

setup-rust: ## Install the system packages the Rust build needs (cmake, libclang for HiGHS)
	@./scripts/setup-rust.sh

build: setup-rust ## Build the workspace (release)
	$(CARGO) build --release -p uoom-cli -p uoom-benches

demo: build ## The main job: route a realistic order stream through the engine
	@./scripts/demo.sh

# test-adapters starts the servers, runs their smoke checks (what test-servers
# does) and the adapters' integration tests; to drop the adapters from
# `make test`, put test-servers back in its place on the next line.
test: test-rust test-adapters test-python test-node ## Run every test
	@echo "make test: all suites passed"

test-rust: setup-rust ## Unit, property, doc and CLI tests of core, cli and benches
	$(CARGO) test --workspace --exclude uoom-python --exclude uoom-node
	$(CARGO) test -p uoom --features exact --test solve_props --test solve_instances
	$(CARGO) test -p uoom --features exact --lib solve::
	$(CARGO) test -p uoom --features tokio --test engine_host
	$(CARGO) test -p uoom --features tokio --doc engine::host

test-python: setup-rust ## Build the Python wheel in a fresh venv; pytest, stubtest, guide snippets, example service
	@./scripts/python.sh

bench-python: setup-rust ## uoom.solve beside OR-Tools CP-SAT from Python, and per-order routing cost (release wheel)
	@./scripts/python-bench.sh

bench-python-route: setup-rust ## Python await router.route(), 2,000 orders/s for 10 s, 50 ms async partner (release wheel)
	@./scripts/python-bench.sh route-async

# Clippy over every feature combination that ships, each with --all-targets
# so that its tests, examples and benches compile too: the pure core; the
# workspace as it builds by default (uoom with exact and sim through the CLI,
# the Python and Node bindings); each adapter feature of uoom alone; then
# everything together (uoom's features, the CLI's adapters). The order keeps
# the dependencies' feature sets growing, so most are checked once.
LINT_ALONE := postgres postgres-tls outbox kafka kafka-tls kafka-msk-iam dynamodb tokio sim
LINT_CLIPPY := $(CARGO) clippy --all-targets

lint: setup-rust ## cargo fmt --check, license files, clippy -D warnings over every shipped feature combination
	$(CARGO) fmt --all -- --check
	@for f in core/LICENSE bindings-python/LICENSE bindings-node/LICENSE; do \
	  cmp -s LICENSE $$f || { echo "lint: $$f differs from LICENSE"; exit 1; }; done
	$(LINT_CLIPPY) -p uoom -- -D warnings
	$(LINT_CLIPPY) --workspace -- -D warnings
	@set -e; for f in $(LINT_ALONE); do \
	  echo "$(LINT_CLIPPY) -p uoom --features $$f -- -D warnings"; \
	  $(LINT_CLIPPY) -p uoom --features $$f -- -D warnings; done
	$(LINT_CLIPPY) --workspace --all-features -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: build ## Benchmarks (see docs/benchmarks.md)
	$(CARGO) bench -p uoom-benches

# Every parser of untrusted input has a target (docs/fuzzing.md); TARGET=name runs one.
FUZZ_TARGETS := parse_create_order parse_instance wire_channel wire_router_options wire_order_status wire_reserve_request
FUZZ_RUNS ?= 1000000
fuzz: ## Fuzz every untrusted-input parser for FUZZ_RUNS executions each, or TARGET=name (cargo-fuzz via RUSTC_BOOTSTRAP=1)
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd core/fuzz && for t in $(or $(TARGET),$(FUZZ_TARGETS)); do \
	  mkdir -p corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 nice -n 15 $(CARGO) fuzz run $$t corpus/$$t seeds/$$t -- \
	    -runs=$(FUZZ_RUNS) -print_final_stats=1 || exit 1; \
	done

# Test servers for the adapters (scripts/servers/, docs/adapters.md): PostgreSQL,
# Kafka in KRaft mode and DynamoDB Local, all on 127.0.0.1.
.PHONY: servers-up servers-down test-servers

servers-up: ## Start PostgreSQL, Kafka (KRaft) and DynamoDB Local on 127.0.0.1
	@./scripts/servers/all.sh start

servers-down: ## Stop the test servers
	@./scripts/servers/all.sh stop

test-servers: ## Start the test servers, check schema and client round trips, stop them
	@./scripts/servers/all.sh test

# The adapters (features postgres, outbox, kafka, dynamodb of core) against the
# real servers: starts them, runs the servers' smoke checks and
# core/tests/adapters_*.rs, stops what it started (also on failure).
.PHONY: test-adapters
test-adapters: setup-rust ## Adapter integration tests against PostgreSQL, Kafka and DynamoDB Local (includes test-servers' checks)
	@CARGO=$(CARGO) ./scripts/test-adapters.sh

bench-solve: setup-rust ## Criterion benches of the solver (single-order decision, 100 ms batches)
	$(CARGO) bench -p uoom-benches --bench solve

bench-compare: build ## uoom vs CP-SAT / HiGHS / greedy on every public instance -> docs/benchmarks.md (long; QUICK=1 skips the slow peers on b-l and t)
	python3 benches/compare/compare.py $(if $(QUICK),--quick) --write docs/benchmarks.md

.PHONY: bench-ledger bench-rank
REDIS_PORT ?= 6390

bench-ledger: setup-rust ## Ledger reserve+commit/s: 1 thread, 2 threads on distinct channels, 2 contended (JSON lines)
	$(CARGO) build --release -p uoom-benches
	./target/release/uoom-bench ledger --seconds 5 --threads 1 --json
	./target/release/uoom-bench ledger --seconds 5 --threads 2 --json
	./target/release/uoom-bench ledger --seconds 5 --threads 2 --mode contended --json

bench-rank: setup-rust ## Ranking top-5 of 1,000 channels vs Redis sorted sets (local redis-server started and stopped here)
	$(CARGO) build --release -p uoom-benches
	./scripts/redis.sh start $(REDIS_PORT)
	./target/release/uoom-bench rank --channels 1000 --json --redis 127.0.0.1:$(REDIS_PORT); rc=$$?; ./scripts/redis.sh stop $(REDIS_PORT); exit $$rc

NPM ?= npm
# CARGO_BUILD_JOBS caps the napi build (its CLI has no -j); unset = all cores.
# `npm install` for the addon: `npm ci` rejects its lock file, which lacks the
# other platforms' optional packages of @napi-rs/lzma (they need Node >= 22).
test-node: setup-rust ## Node addon (napi-rs): build it, node --test, then the NestJS example's e2e test
	cd bindings-node && $(NPM) install --no-audit --no-fund && $(NPM) run build && $(NPM) test
	cd examples/nestjs && $(NPM) ci --no-audit --no-fund && $(NPM) run build && $(NPM) test

bench-node: ## Node binding: per-order routing cost and solve of b-m-0 beside the CLI (docs/benchmarks.md)
	$(CARGO) build --release -p uoom-cli
	cd bindings-node && $(NPM) run build && node bench/route.mjs && node bench/solve.mjs
