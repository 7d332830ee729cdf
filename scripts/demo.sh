#!/usr/bin/env bash
# `make demo`: the engine routing a realistic order stream (filled in as parts land).
set -euo pipefail
cd "$(dirname "$0")/.."
UOOM=target/release/uoom
echo "== uoom demo"
$UOOM --version

echo
echo "== validate-order: the sample orders of examples/orders (exit 0, normalized, exact totals)"
$UOOM validate-order examples/orders/sample.json
for f in examples/orders/*.json; do
  printf '%-42s exit 0, ' "$f"
  $UOOM validate-order "$f" | tr -d ' \n' | grep -o '"total":{[^}]*}'
done

echo
echo "== validate-order: a request with several problems (exit 2, every problem listed)"
set +e
$UOOM validate-order cli/tests/fixtures/validate/many-problems.json
rc=$?
set -e
echo "exit code: $rc"
[ "$rc" -eq 2 ]
