#!/usr/bin/env bash
# A throwaway Redis on 127.0.0.1 for the ranking comparison benchmark.
#   scripts/redis.sh start PORT   installs Debian's redis-server if missing, starts one
#                                 (no persistence, loopback only) and waits until it answers
#   scripts/redis.sh stop PORT    stops the one started on PORT
#   scripts/redis.sh status PORT  exit 0 if it answers
set -euo pipefail
cmd=${1:-}
port=${2:-6390}
dir=${TMPDIR:-/tmp}/uoom-redis-$port
pidfile=$dir/redis.pid

install() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "redis.sh: installing redis-server (Debian package)" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  fi
}

alive() { redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; }

case "$cmd" in
  start)
    install
    if alive; then echo "redis.sh: something already answers on 127.0.0.1:$port" >&2; exit 1; fi
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 1 50); do alive && { echo "redis.sh: up on 127.0.0.1:$port" >&2; exit 0; }; sleep 0.1; done
    echo "redis.sh: did not come up; see $dir/redis.log" >&2; exit 1 ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$pidfile"
    fi
    ;;
  status) alive ;;
  *) echo "usage: $0 start|stop|status PORT" >&2; exit 2 ;;
esac
