#!/usr/bin/env bash
# Apache Kafka in KRaft mode (one node: controller + broker) on 127.0.0.1, for
# the adapter tests. The jars come from Maven Central (scripts/servers/kafka/pom.xml)
# and run on the machine's Java; no Kafka distribution tarball is needed.
#
# Besides plain text it listens as Amazon MSK does: TLS on the port two above
# (MSK's 9094), TLS with SASL/SCRAM-SHA-512 four above (MSK's 9096), and TLS
# with IAM (SASL/OAUTHBEARER carrying a SigV4-presigned URL) six above (MSK's
# 9098), with a certificate from a throwaway test CA, one SCRAM user and one
# IAM identity. The IAM check is kafka/MskIamValidator.java, compiled with javac
# at start; it knows only that identity's access key and secret.
#
# usage: kafka.sh start|stop|status|brokers|tls-brokers|sasl-brokers|iam-brokers|ca|scram|iam|reset
#   start        fetch the jars (cached), compile the IAM validator, format storage on first use,
#                start, wait until ready
#   stop         stop the broker (TERM, bounded wait, then KILL); nothing left running
#   status       exit 0 when running and accepting connections
#   brokers      print the plain-text bootstrap servers (host:port)
#   tls-brokers  print the TLS bootstrap servers
#   sasl-brokers print the TLS + SASL/SCRAM bootstrap servers
#   iam-brokers  print the TLS + IAM (SASL/OAUTHBEARER) bootstrap servers
#   ca           print the path of the test CA's certificate (PEM)
#   scram        print the SCRAM user and password, space-separated
#   iam          print the IAM identity's access key id and secret access key, space-separated
#   reset        stop and delete the data directory (the next start formats afresh)
# env: UOOM_KAFKA_PORT (29092), UOOM_KAFKA_CONTROLLER_PORT (29093),
#      UOOM_KAFKA_TLS_PORT (port + 2), UOOM_KAFKA_SASL_PORT (port + 4),
#      UOOM_KAFKA_IAM_PORT (port + 6), UOOM_KAFKA_HEAP (512m)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "$0")/kafka/pom.xml")
PORT="${UOOM_KAFKA_PORT:-29092}"
CPORT="${UOOM_KAFKA_CONTROLLER_PORT:-29093}"
TLS_PORT="${UOOM_KAFKA_TLS_PORT:-$((PORT + 2))}"
SASL_PORT="${UOOM_KAFKA_SASL_PORT:-$((PORT + 4))}"
IAM_PORT="${UOOM_KAFKA_IAM_PORT:-$((PORT + 6))}"
HEAP="${UOOM_KAFKA_HEAP:-512m}"
LIBS="$UOOM_CACHE/kafka-$KAFKA_VERSION/libs"
HOME_DIR="$SERVERS_DIR/kafka"
DATA="$HOME_DIR/data"
CONF="$HOME_DIR/server.properties"
PIDF="$HOME_DIR/kafka.pid"
LOGF="$HOME_DIR/kafka.log"
TLS_DIR="$HOME_DIR/tls"
# The IAM listener's server-side check, compiled at start into CLASSES.
IAM_SRC="$(cd "$(dirname "$0")" && pwd)/kafka/MskIamValidator.java"
CLASSES="$HOME_DIR/classes"
IAM_CLASS="$CLASSES/uoom/test/MskIamValidator.class"
# Test-only secrets: the keystore's password, the SCRAM user and the IAM identity.
KEYSTORE_PASSWORD=uoom-test
SCRAM_USER=uoom
SCRAM_PASSWORD=uoom-test-secret
SCRAM_DONE="$DATA/.scram-$SCRAM_USER"
IAM_ACCESS_KEY=AKIAUOOMTESTKEY01
IAM_SECRET=uoom-test-iam-secret

java_run() {
  # The command-line tools: small heap, quick JIT, quiet logs.
  java -Xms128m -Xmx"$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${UOOM_KAFKA_TOOL_LOG_LEVEL:-error}" \
    -cp "$CLASSES:$LIBS/*" "$@"
}

# Compiles the IAM validator against the Kafka jars, when its source is newer than its class.
compile_validator() {
  [ "$IAM_CLASS" -nt "$IAM_SRC" ] && return 0
  ensure_java
  log "compiling $(basename "$IAM_SRC") into $CLASSES"
  mkdir -p "$CLASSES"
  javac --release 17 -nowarn -encoding UTF-8 -cp "$LIBS/*" -d "$CLASSES" "$IAM_SRC" >"$HOME_DIR/javac.log" 2>&1 \
    || { cat "$HOME_DIR/javac.log" >&2; die "javac $IAM_SRC failed"; }
}

write_config() {
  mkdir -p "$HOME_DIR"
  cat >"$CONF" <<EOF
# Written by scripts/servers/kafka.sh: single-node KRaft, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,SSL://127.0.0.1:$TLS_PORT,SASL_SSL://127.0.0.1:$SASL_PORT,IAM://127.0.0.1:$IAM_PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SSL://127.0.0.1:$TLS_PORT,SASL_SSL://127.0.0.1:$SASL_PORT,IAM://127.0.0.1:$IAM_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,IAM:SASL_SSL
# TLS as on MSK's 9094, 9096 and 9098: the server authenticates, clients do not.
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/server.p12
ssl.keystore.password=$KEYSTORE_PASSWORD
ssl.key.password=$KEYSTORE_PASSWORD
ssl.client.auth=none
# SCRAM on SASL_SSL (MSK's 9096), IAM on IAM (MSK's 9098): each listener its own mechanism.
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# The IAM check (kafka/MskIamValidator.java) reads the one identity from the JAAS
# options. The broker also logs in on every SASL listener at start, with Kafka's
# unsecured OAUTHBEARER login handler, which insists on a subject
# (unsecuredLoginStringClaim_sub); that token is never sent (inter-broker is PLAINTEXT).
listener.name.iam.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.iam.oauthbearer.sasl.server.callback.handler.class=uoom.test.MskIamValidator
listener.name.iam.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="uoom-broker" accessKeyId="$IAM_ACCESS_KEY" secretAccessKey="$IAM_SECRET";
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

# The test CA, the server certificate and the PKCS12 keystore Kafka reads.
make_keystore() {
  make_test_certs "$TLS_DIR"
  [ -f "$TLS_DIR/server.p12" ] && return 0
  openssl pkcs12 -export -in "$TLS_DIR/server.crt" -inkey "$TLS_DIR/server.key" \
    -certfile "$TLS_DIR/ca.pem" -name kafka -passout "pass:$KEYSTORE_PASSWORD" \
    -out "$TLS_DIR/server.p12" || die "making the PKCS12 keystore failed"
}

# The SCRAM user, added once per data directory through the admin API (which
# also serves storage formatted before the listener existed).
ensure_scram_user() {
  [ -f "$SCRAM_DONE" ] && return 0
  log "adding SCRAM user $SCRAM_USER"
  java_run kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$PORT" --alter \
    --add-config "SCRAM-SHA-512=[password=$SCRAM_PASSWORD]" \
    --entity-type users --entity-name "$SCRAM_USER" >"$HOME_DIR/scram.log" 2>&1 \
    || { cat "$HOME_DIR/scram.log" >&2; die "adding the SCRAM user failed"; }
  touch "$SCRAM_DONE"
}

start() {
  if pid=$(live_pid "$PIDF"); then
    if ready; then log "already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
    die "a broker (pid $pid) runs but is not ready; try: $0 stop"
  fi
  local p
  for p in "$PORT" "$TLS_PORT" "$SASL_PORT" "$IAM_PORT"; do
    port_open "$p" && die "port $p is taken by another process"
  done
  ensure_java
  maven_fetch "$(dirname "$0")/kafka" "$LIBS"
  compile_validator
  make_keystore
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
    -cp "$CLASSES:$LIBS/*" kafka.Kafka "$CONF" >>"$LOGF" 2>&1 </dev/null &
  echo $! >"$PIDF"
  log "starting Kafka $KAFKA_VERSION (pid $!), log $LOGF"
  if ! wait_until "$START_TIMEOUT" "$!" kafka ready; then
    tail -30 "$LOGF" >&2
    stop_pidfile "$PIDF" kafka
    exit 1
  fi
  ensure_scram_user
  log "ready on 127.0.0.1:$PORT (TLS $TLS_PORT, TLS + SCRAM $SASL_PORT, TLS + IAM $IAM_PORT)"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PIDF" kafka ;;
  status)
    if pid=$(live_pid "$PIDF") && ready; then echo "kafka: running (pid $pid) on 127.0.0.1:$PORT"
    else echo "kafka: stopped"; exit 1; fi ;;
  brokers) echo "127.0.0.1:$PORT" ;;
  tls-brokers) echo "127.0.0.1:$TLS_PORT" ;;
  sasl-brokers) echo "127.0.0.1:$SASL_PORT" ;;
  iam-brokers) echo "127.0.0.1:$IAM_PORT" ;;
  ca) echo "$TLS_DIR/ca.pem" ;;
  scram) echo "$SCRAM_USER $SCRAM_PASSWORD" ;;
  iam) echo "$IAM_ACCESS_KEY $IAM_SECRET" ;;
  reset) stop_pidfile "$PIDF" kafka; rm -rf "$DATA"; log "data removed" ;;
  # Runs a class from the Kafka jars (e.g. the console producer) with the cached classpath;
  # also the IAM validator's own check: run-class uoom.test.MskIamValidator verify TOKEN KEY SECRET [NOW_S]
  run-class)
    shift; maven_fetch "$(dirname "$0")/kafka" "$LIBS"; compile_validator
    java_run "$@" ;;
  *) echo "usage: $0 start|stop|status|brokers|tls-brokers|sasl-brokers|iam-brokers|ca|scram|iam|reset|run-class CLASS [ARGS...]" >&2; exit 2 ;;
esac
