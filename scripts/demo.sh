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

echo "== solve: a batch in a 100 ms budget, then proven optimal"
INST=benches/instances/b-m-0.json
for MODE in "" "--exact"; do
  $UOOM solve "$INST" $MODE -o target/demo-solve.json
  python3 -c "import json; s = json.load(open('target/demo-solve.json')); print(f\"  {s['instance']} ${MODE:-(100 ms)}: objective {s['objective']:.3f}, {len(s['assignments'])} assigned, {len(s['unassigned'])} unassigned, method {s['method']}, gap {s.get('gap')}, {s['solve_ms']:.1f} ms\")"
done

# The routing engine on its in-memory default (see docs/engine.md).
echo
echo "== uoom simulate: 200,000 orders, flat out"
$UOOM simulate --orders 200000
echo
echo "== uoom simulate: 50,000 orders paced at 5,000 orders/s (about 10 s)"
$UOOM simulate --orders 50000 --rps 5000
