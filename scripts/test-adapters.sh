#!/usr/bin/env bash
# make test-adapters: run the adapters' unit and doc tests, start the test
# servers, run the servers' smoke checks
# (unless UOOM_SKIP_SMOKE=1) and the adapters' integration tests
# (core/tests/adapters_*.rs) against them, then stop what this run started,
# also on failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SERVERS="$ROOT/scripts/servers"
CARGO="${CARGO:-cargo}"
FEATURES="postgres,postgres-tls,outbox,kafka,kafka-tls,dynamodb"

started=()
for s in postgres kafka dynamodb; do
  "$SERVERS/$s.sh" status >/dev/null 2>&1 || started+=("$s")
done
cleanup() {
  local s
  for s in "${started[@]}"; do "$SERVERS/$s.sh" stop || true; done
}
trap cleanup EXIT

t0=$SECONDS
# Build first, so the servers do not wait (idle) for the compiler.
nice -n 19 "$CARGO" test -p uoom --features "$FEATURES" --test 'adapters_*' --no-run
nice -n 19 "$CARGO" test -p uoom-cli --features adapters --bins --test simulate_adapters --no-run
echo "test-adapters: build took $((SECONDS - t0))s"
# The adapters' unit tests and doc examples need no server.
t0=$SECONDS
nice -n 19 "$CARGO" test -p uoom --features "$FEATURES" --lib adapters
nice -n 19 "$CARGO" test -p uoom --features "$FEATURES" --doc adapters
echo "test-adapters: unit and doc tests took $((SECONDS - t0))s"
t1=$SECONDS
"$SERVERS/all.sh" start
echo "test-adapters: servers up in $((SECONDS - t1))s"
if [ "${UOOM_SKIP_SMOKE:-0}" != 1 ]; then
  t2=$SECONDS
  "$SERVERS/smoke.sh"
  echo "test-adapters: servers smoke took $((SECONDS - t2))s"
fi
set -a
eval "$("$SERVERS/all.sh" env)"
set +a
t3=$SECONDS
nice -n 19 "$CARGO" test -p uoom --features "$FEATURES" --test 'adapters_*'
# The CLI built with the adapters: its unit tests and `uoom simulate` over
# the real servers.
nice -n 19 "$CARGO" test -p uoom-cli --features adapters --bins --test simulate_adapters
echo "test-adapters: integration tests took $((SECONDS - t3))s"
