# uoom — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: help demo test test-rust lint fmt bench build setup-rust

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

setup-rust: ## Install the system packages the Rust build needs (cmake, libclang for HiGHS)
	@./scripts/setup-rust.sh

build: setup-rust ## Build the workspace (release)
	$(CARGO) build --release -p uoom-cli -p uoom-benches

demo: build ## The main job: route a realistic order stream through the engine
	@./scripts/demo.sh

test: test-rust ## Run every test
	@echo "make test: all suites passed"

test-rust: setup-rust ## Unit, property, doc and CLI tests of core, cli and benches
	$(CARGO) test --workspace --exclude uoom-python --exclude uoom-node

lint: setup-rust ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: build ## Benchmarks (see docs/benchmarks.md)
	$(CARGO) bench -p uoom-benches

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
