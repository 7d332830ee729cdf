#!/usr/bin/env bash
# `make demo`: the engine routing a realistic order stream (filled in as parts land).
set -euo pipefail
cd "$(dirname "$0")/.."
UOOM=target/release/uoom
echo "== uoom demo"
$UOOM --version

# The routing engine on its in-memory default (see docs/engine.md).
echo
echo "== uoom simulate: 200,000 orders, flat out"
$UOOM simulate --orders 200000
echo
echo "== uoom simulate: 50,000 orders paced at 5,000 orders/s (about 10 s)"
$UOOM simulate --orders 50000 --rps 5000
