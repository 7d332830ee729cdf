#!/usr/bin/env bash
# DynamoDB Local (in memory) on 127.0.0.1 for the adapter tests. The jars and the
# sqlite4java native library come from Maven Central (scripts/servers/dynamodb/pom.xml);
# a tiny launcher (LoopbackServerRunner.java, compiled once) binds it to loopback,
# which DynamoDB Local's own command line cannot do. Telemetry is off; -sharedDb
# gives every client the same tables whatever credentials and region it uses.
#
# usage: dynamodb.sh start|stop|status|url
#   start   fetch the jars (cached), start, wait until it answers
#   stop    stop it (TERM, bounded wait, then KILL); nothing left running
#   status  exit 0 when it answers HTTP
#   url     print the endpoint URL (http://127.0.0.1:28000)
# env: UOOM_DYNAMODB_PORT (28000), UOOM_DYNAMODB_HEAP (512m)
# Clients need some credentials and a region; any values do, e.g.
#   AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DDB_VERSION=$(sed -n 's:.*<dynamodb.local.version>\(.*\)</dynamodb.local.version>.*:\1:p' "$(dirname "$0")/dynamodb/pom.xml")
PORT="${UOOM_DYNAMODB_PORT:-28000}"
HEAP="${UOOM_DYNAMODB_HEAP:-512m}"
LIBS="$UOOM_CACHE/dynamodb-local-$DDB_VERSION/libs"
CLASSES="$UOOM_CACHE/dynamodb-local-$DDB_VERSION/launcher"
SRC="$(cd "$(dirname "$0")" && pwd)/dynamodb/LoopbackServerRunner.java"
HOME_DIR="$SERVERS_DIR/dynamodb"
PIDF="$HOME_DIR/dynamodb.pid"
LOGF="$HOME_DIR/dynamodb.log"
URL="http://127.0.0.1:$PORT"

fetch() {
  # Windows and macOS natives are of no use here.
  maven_fetch "$(dirname "$0")/dynamodb" "$LIBS" -DexcludeTypes=dll,dylib
  # sqlite4java looks for libsqlite4java-linux-amd64.so on java.library.path;
  # Maven names the file with its version.
  local so
  so=$(ls "$LIBS"/libsqlite4java-linux-amd64-*.so 2>/dev/null | head -1)
  [ -n "$so" ] || die "no libsqlite4java-linux-amd64 .so among the fetched jars"
  ln -sf "$(basename "$so")" "$LIBS/libsqlite4java-linux-amd64.so"
  if [ ! -f "$CLASSES/LoopbackServerRunner.class" ] || [ "$SRC" -nt "$CLASSES/LoopbackServerRunner.class" ]; then
    command -v javac >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
    mkdir -p "$CLASSES"
    javac -nowarn -d "$CLASSES" -cp "$LIBS/*" "$SRC" || die "compiling the loopback launcher failed"
  fi
}

# Any HTTP answer means the server is up (an unsigned GET gets a 400).
ready() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != "000" ]
}

start() {
  if pid=$(live_pid "$PIDF"); then
    if ready; then log "already running (pid $pid) at $URL"; return 0; fi
    die "DynamoDB Local (pid $pid) runs but does not answer; try: $0 stop"
  fi
  port_open "$PORT" && die "port $PORT is taken by another process"
  command -v curl >/dev/null 2>&1 || apt_install curl
  ensure_java
  fetch
  mkdir -p "$HOME_DIR"
  : >"$LOGF"
  # DynamoDB Local writes nothing to its working directory when in memory; run it
  # from its own folder anyway so a stray file never lands in the repo.
  cd "$HOME_DIR"
  nohup java -Xms64m -Xmx"$HEAP" -XX:+UseSerialGC \
    -Djava.library.path="$LIBS" -Duoom.dynamodb.host=127.0.0.1 \
    -cp "$CLASSES:$LIBS/*" LoopbackServerRunner \
    -inMemory -sharedDb -port "$PORT" -disableTelemetry >>"$LOGF" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDF"
  cd - >/dev/null
  log "starting DynamoDB Local $DDB_VERSION (pid $pid), log $LOGF"
  if ! wait_until "$START_TIMEOUT" "$pid" dynamodb ready; then
    tail -30 "$LOGF" >&2
    stop_pidfile "$PIDF" dynamodb
    exit 1
  fi
  log "ready at $URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$PIDF" dynamodb ;;
  status)
    if pid=$(live_pid "$PIDF") && ready; then echo "dynamodb: running (pid $pid) at $URL"
    else echo "dynamodb: stopped"; exit 1; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
