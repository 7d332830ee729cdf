#!/usr/bin/env bash
# Smoke test of the running test servers (start them first: all.sh start):
#   PostgreSQL  migrations + schema checks + concurrent SKIP LOCKED claimers (test-postgres.sh)
#   Kafka       round trip with Kafka's own console producer/consumer (the jars we run),
#               and with librdkafka (confluent-kafka): idempotent acks=all, per-key order, DLQ;
#               its TLS listeners' (TLS, TLS + SCRAM, TLS + IAM) certificate verified against
#               the test CA (openssl s_client)
#   DynamoDB    the read-model tables created from core/migrations/dynamodb, queried with boto3
# Prints "servers smoke: N passed, N failed"; exit 1 on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
passed=0; failed=0
tally() { # NAME STATUS
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); log "FAILED: $1"; fi
}

for s in postgres kafka dynamodb; do
  "$HERE/$s.sh" status >/dev/null || die "$s is not running: $HERE/all.sh start"
done

set +e
"$HERE/test-postgres.sh"; tally "postgres checks" $?

kafka_console() {
  local brokers topic out
  brokers=$("$HERE/kafka.sh" brokers)
  topic="uoom.console.$$.$RANDOM"
  printf 'order-1:{"n":1}\norder-2:{"n":2}\norder-1:{"n":3}\n' \
    | timeout 60 "$HERE/kafka.sh" run-class org.apache.kafka.tools.ConsoleProducer \
        --bootstrap-server "$brokers" --topic "$topic" \
        --command-property acks=all --command-property enable.idempotence=true \
        --reader-property parse.key=true --reader-property key.separator=: || return 1
  out=$(timeout 60 "$HERE/kafka.sh" run-class org.apache.kafka.tools.consumer.ConsoleConsumer \
        --bootstrap-server "$brokers" --topic "$topic" --from-beginning \
        --max-messages 3 --timeout-ms 30000 \
        --formatter-property print.key=true --formatter-property key.separator=: 2>/dev/null) || return 1
  [ "$out" = $'order-1:{"n":1}\norder-2:{"n":2}\norder-1:{"n":3}' ] \
    || { echo "console consumer read: $out"; return 1; }
  echo "ok   kafka: console producer/consumer round trip (3 keyed records)"
}
kafka_console; tally "kafka console round trip" $?

kafka_tls() {
  local ca addr
  ca=$("$HERE/kafka.sh" ca)
  for addr in "$("$HERE/kafka.sh" tls-brokers)" "$("$HERE/kafka.sh" sasl-brokers)" \
              "$("$HERE/kafka.sh" iam-brokers)"; do
    echo | timeout 20 openssl s_client -connect "$addr" -CAfile "$ca" -verify_return_error \
      -verify_ip 127.0.0.1 -brief >/dev/null 2>&1 \
      || { echo "TLS handshake with $addr not verified against $ca"; return 1; }
  done
  echo "ok   kafka: TLS listeners' certificate verified against the test CA"
}
kafka_tls; tally "kafka TLS listeners" $?

PY=$("$HERE/venv.sh") && "$PY" "$HERE/smoke_clients.py" \
  --kafka "$("$HERE/kafka.sh" brokers)" \
  --dynamodb "$("$HERE/dynamodb.sh" url)" \
  --tables "$SERVERS_ROOT/core/migrations/dynamodb"
tally "client round trips (confluent-kafka, boto3)" $?
set -e

echo "servers smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
