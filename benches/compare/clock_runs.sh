#!/bin/bash
# Default mode (100 ms, clock on), 3 runs per instance: gap to best_known
# (benches/compare/verify.py) and solve_ms per run, with the load average after
# each instance.
# Usage: benches/compare/clock_runs.sh [UOOM_BINARY]   (from the repository root)
set -euo pipefail
B=${1:-target/release/uoom}
INSTANCES=benches/instances
VERIFY=benches/compare/verify.py
out=$(mktemp)
for n in b-l-0 b-l-1 t-0 t-1 b-m-0 b-m-1 b-m-2 b-s-0 b-s-1 b-s-2 rt-50-0 rt-200-0 rt-1000-0; do
  line="$n"
  for _ in 1 2 3; do
    "$B" solve "$INSTANCES/$n.json" -o "$out" 2>/dev/null
    g=$(python3 "$VERIFY" "$INSTANCES/$n.json" "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.3f %%' % (100*d['gap']) if d['feasible'] else 'INFEASIBLE')")
    ms=$(python3 -c "import json,sys; print('%.1f' % json.load(open(sys.argv[1]))['solve_ms'])" "$out")
    line="$line | $g / $ms ms"
  done
  echo "$line | load $(cut -d' ' -f1 /proc/loadavg)"
done
rm -f "$out"
