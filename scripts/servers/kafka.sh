#!/usr/bin/env bash
# Apache Kafka in KRaft mode (one node: controller + broker) on 127.0.0.1, for
# the adapter tests. The jars come from Maven Central (scripts/servers/kafka/pom.xml)
# and run on the machine's Java; no Kafka distribution tarball is needed.
#
# usage: kafka.sh start|stop|status|brokers|reset
#   start    fetch the jars (cached), format storage on first use, start, wait until ready
#   stop     stop the broker (TERM, bounded wait, then KILL); nothing left running
#   status   exit 0 when running and accepting connections
#   brokers  print the bootstrap servers (host:port)
#   reset    stop and delete the data directory (the next start formats afresh)
# env: UOOM_KAFKA_PORT (29092), UOOM_KAFKA_CONTROLLER_PORT (29093), UOOM_KAFKA_HEAP (512m)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "$0")/kafka/pom.xml")
PORT="${UOOM_KAFKA_PORT:-29092}"
CPORT="${UOOM_KAFKA_CONTROLLER_PORT:-29093}"
HEAP="${UOOM_KAFKA_HEAP:-512m}"
LIBS="$UOOM_CACHE/kafka-$KAFKA_VERSION/libs"
HOME_DIR="$SERVERS_DIR/kafka"
DATA="$HOME_DIR/data"
CONF="$HOME_DIR/server.properties"
PIDF="$HOME_DIR/kafka.pid"
LOGF="$HOME_DIR/kafka.log"

java_run() {
  # The command-line tools: small heap, quick JIT, quiet logs.
  java -Xms128m -Xmx"$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${UOOM_KAFKA_TOOL_LOG_LEVEL:-error}" \
    -cp "$LIBS/*" "$@"
}

write_config() {
  mkdir -p "$HOME_DIR"
  cat >"$CONF" <<EOF
# Written by scripts/servers/kafka.sh: single-node KRaft, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
log.retention.hours=4
# Small segments: Kafka fsyncs a segment when it rolls, and this broker
# shares its disk with PostgreSQL, whose commits wait for their WAL flush
# behind that write. Measured under uoom simulate at 5,000 orders/s: 64 MB
# segments rolled every ~3 s, each roll a 60-120 MB write burst and a
# 40-60 ms stall of every commit; 8 MB segments roll twice a second as
# 11 MB writes that commits ride through.
log.segment.bytes=8388608
EOF
}

# The readiness line comes from KafkaRaftServer, kept at info whatever UOOM_KAFKA_LOG_LEVEL says.
ready() {
  port_open "$PORT" && grep -q "Kafka Server started" "$LOGF" 2>/dev/null
}

start() {
  if pid=$(live_pid "$PIDF"); then
    if ready; then log "already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    die "a broker (pid $pid) runs but is not ready; try: $0 stop"
  fi
  port_open "$PORT" && die "port $PORT is taken by another process"
  ensure_java
  maven_fetch "$(dirname "$0")/kafka" "$LIBS"
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    mkdir -p "$DATA"
    local cluster_id
    cluster_id=$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    log "formatting $DATA (cluster id $cluster_id)"
    java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF" >"$HOME_DIR/format.log" 2>&1 \
      || { cat "$HOME_DIR/format.log" >&2; die "storage format failed"; }
  fi
  : >"$LOGF"
  # The server: small heap (a test server on a shared 2-core box), full JIT.
  nohup java -Xms128m -Xmx"$HEAP" -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${UOOM_KAFKA_LOG_LEVEL:-info}" \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info \
    -cp "$LIBS/*" kafka.Kafka "$CONF" >>"$LOGF" 2>&1 </dev/null &
  echo $! >"$PIDF"
  log "starting Kafka $KAFKA_VERSION (pid $!), log $LOGF"
  if ! wait_until "$START_TIMEOUT" "$!" kafka ready; then
    tail -30 "$LOGF" >&2
    stop_pidfile "$PIDF" kafka
    exit 1
  fi
  log "ready on 127.0.0.1:$PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PIDF" kafka ;;
  status)
    if pid=$(live_pid "$PIDF") && ready; then echo "kafka: running (pid $pid) on 127.0.0.1:$PORT"
    else echo "kafka: stopped"; exit 1; fi ;;
  brokers) echo "127.0.0.1:$PORT" ;;
  reset) stop_pidfile "$PIDF" kafka; rm -rf "$DATA"; log "data removed" ;;
  # Runs a class from the Kafka jars (e.g. the console producer) with the cached classpath.
  run-class) shift; maven_fetch "$(dirname "$0")/kafka" "$LIBS"; java_run "$@" ;;
  *) echo "usage: $0 start|stop|status|brokers|reset|run-class CLASS [ARGS...]" >&2; exit 2 ;;
esac
