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
# uoom and uoom-cli in one cargo invocation, so both resolve their shared
# dependencies' features alike: built apart (`-p uoom`, then `-p uoom-cli`),
# the AWS SDK, rdkafka and uoom itself were compiled twice.
PKGS=(-p uoom -p uoom-cli)
FEATURES="uoom/postgres,uoom/postgres-tls,uoom/outbox,uoom/kafka,uoom/kafka-tls,uoom/kafka-msk-iam,uoom/dynamodb,uoom-cli/adapters"
TESTS=(--test 'adapters_*' --test simulate_adapters --bins)

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
nice -n 19 "$CARGO" test "${PKGS[@]}" --features "$FEATURES" "${TESTS[@]}" --no-run
echo "test-adapters: build took $((SECONDS - t0))s"
# The adapters' unit tests and doc examples need no server.
t0=$SECONDS
nice -n 19 "$CARGO" test "${PKGS[@]}" --features "$FEATURES" --lib adapters
nice -n 19 "$CARGO" test "${PKGS[@]}" --features "$FEATURES" --doc adapters
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
# core/tests/adapters_*.rs, the CLI's unit tests with the adapters and
# `uoom simulate` over the real servers (cli/tests/simulate_adapters.rs).
nice -n 19 "$CARGO" test "${PKGS[@]}" --features "$FEATURES" "${TESTS[@]}"
# The example service over PostgreSQL (its feature `postgres`; the
# workspace's default tests build it without).
nice -n 19 "$CARGO" test -p uoom-example-service --features postgres --test http
echo "test-adapters: integration tests took $((SECONDS - t3))s"
