#!/usr/bin/env bash
# What CI pays for `.ci/run` (`make test`) on a fresh clone: wall time and the
# disk it takes. Clones this repository at REV into DIR, runs `.ci/run` there
# and samples the root filesystem's used space every 10 s (so it counts
# target/, cargo's registry, the servers' data and downloads, the npm and pip
# installs alike). Prints the sizes of the biggest folders at the end.
#
# usage: benches/ci/fresh_clone.sh [REV] [DIR]   (default HEAD, /tmp/uoom-fresh-ci)
# Output: DIR.disk.txt (samples and summary) and DIR.log (what .ci/run printed).
# Nothing else should build or write much on the machine meanwhile.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
rev=${1:-HEAD}
dir=${2:-/tmp/uoom-fresh-ci}
out=$dir.disk.txt
rm -rf "$dir"
git clone -q "$ROOT" "$dir" && git -C "$dir" checkout -q "$rev" || exit 1
used() { df --output=used -B1M / | tail -1; }
base=$(used)
echo "rev=$(git -C "$dir" rev-parse --short HEAD) start=$(date -u +%FT%TZ) base_used_mb=$base" >"$out"
(while sleep 10; do echo "$(date -u +%T) used_delta_mb=$(($(used) - base))" >>"$out"; done) &
sampler=$!
t0=$(date +%s)
(cd "$dir" && .ci/run) >"$dir.log" 2>&1
rc=$?
kill "$sampler"
echo "rc=$rc wall_s=$(($(date +%s) - t0))" >>"$out"
du -sm "$dir"/target/* "$dir"/bindings-node/node_modules "$dir"/examples/nestjs/node_modules \
  "$HOME/.cargo/registry" "$dir" 2>/dev/null >>"$out"
awk -F'used_delta_mb=' '/used_delta/ { if ($2 > m) m = $2 } END { print "peak_delta_mb=" m }' "$out" >>"$out"
grep -v used_delta "$out"
exit $rc
