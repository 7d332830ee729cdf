#!/usr/bin/env bash
# `make demo`: the engine routing a realistic order stream (filled in as parts land).
set -euo pipefail
cd "$(dirname "$0")/.."
UOOM=target/release/uoom
echo "== uoom demo"
$UOOM --version
