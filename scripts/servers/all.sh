#!/usr/bin/env bash
# All test servers at once: PostgreSQL, Kafka (KRaft), DynamoDB Local, on 127.0.0.1.
# usage: all.sh start|stop|status|env|test
#   start   start the three (each installs/fetches what it needs on first use)
#   stop    stop the three; nothing left running
#   status  one line each; exit 1 if any is down
#   env     print the environment variables the adapter tests read
#   test    start, run smoke.sh, then stop what this run started (also on failure)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
SERVERS=(postgres kafka dynamodb)

start_all() {
  local s t0
  for s in "${SERVERS[@]}"; do
    t0=$SECONDS
    "$HERE/$s.sh" start
    log "$s up in $((SECONDS - t0))s"
  done
}

stop_all() {
  local s rc=0
  # Reverse order; keep going if one fails so nothing is left running.
  for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do
    s=${SERVERS[$i]}
    "$HERE/$s.sh" stop || rc=1
  done
  return $rc
}

print_env() {
  echo "UOOM_TEST_POSTGRES_URL=$("$HERE/postgres.sh" url)"
  echo "UOOM_TEST_POSTGRES_CA=$("$HERE/postgres.sh" ca)"
  echo "UOOM_TEST_KAFKA_BROKERS=$("$HERE/kafka.sh" brokers)"
  echo "UOOM_TEST_KAFKA_TLS_BROKERS=$("$HERE/kafka.sh" tls-brokers)"
  echo "UOOM_TEST_KAFKA_SASL_BROKERS=$("$HERE/kafka.sh" sasl-brokers)"
  echo "UOOM_TEST_KAFKA_CA=$("$HERE/kafka.sh" ca)"
  local scram; scram=$("$HERE/kafka.sh" scram)
  echo "UOOM_TEST_KAFKA_SCRAM_USER=${scram%% *}"
  echo "UOOM_TEST_KAFKA_SCRAM_PASSWORD=${scram#* }"
  echo "UOOM_TEST_KAFKA_IAM_BROKERS=$("$HERE/kafka.sh" iam-brokers)"
  local iam; iam=$("$HERE/kafka.sh" iam)
  echo "UOOM_TEST_KAFKA_IAM_ACCESS_KEY=${iam%% *}"
  echo "UOOM_TEST_KAFKA_IAM_SECRET=${iam#* }"
  echo "UOOM_TEST_DYNAMODB_ENDPOINT=$("$HERE/dynamodb.sh" url)"
  echo "AWS_ACCESS_KEY_ID=local"
  echo "AWS_SECRET_ACCESS_KEY=local"
  echo "AWS_REGION=us-east-1"
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  status)
    rc=0
    for s in "${SERVERS[@]}"; do "$HERE/$s.sh" status || rc=1; done
    exit $rc ;;
  env) print_env ;;
  test)
    # Stop afterwards only what was not already running, so a developer's
    # `make servers-up` survives a `make test-servers`.
    started=()
    for s in "${SERVERS[@]}"; do "$HERE/$s.sh" status >/dev/null 2>&1 || started+=("$s"); done
    cleanup() {
      local s
      for s in "${started[@]}"; do "$HERE/$s.sh" stop || true; done
    }
    trap cleanup EXIT
    t0=$SECONDS
    start_all
    log "all servers up in $((SECONDS - t0))s"
    t1=$SECONDS
    "$HERE/smoke.sh"
    log "smoke tests took $((SECONDS - t1))s"
    ;;
  *) echo "usage: $0 start|stop|status|env|test" >&2; exit 2 ;;
esac
