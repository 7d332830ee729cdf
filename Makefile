# uoom — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: help demo test test-rust test-python lint fmt bench build setup-rust

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

setup-rust: ## Install the system packages the Rust build needs (cmake, libclang for HiGHS)
	@./scripts/setup-rust.sh

build: setup-rust ## Build the workspace (release)
	$(CARGO) build --release -p uoom-cli -p uoom-benches

demo: build ## The main job: route a realistic order stream through the engine
	@./scripts/demo.sh

test: test-rust test-python ## Run every test
	@echo "make test: all suites passed"

test-rust: setup-rust ## Unit, property, doc and CLI tests of core, cli and benches
	$(CARGO) test --workspace --exclude uoom-python --exclude uoom-node

test-python: setup-rust ## Build the Python wheel in a fresh venv; pytest, stubtest, guide snippets, example service
	@./scripts/python.sh

lint: setup-rust ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: build ## Benchmarks (see docs/benchmarks.md)
	$(CARGO) bench -p uoom-benches
