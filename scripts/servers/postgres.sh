#!/usr/bin/env bash
# A private PostgreSQL cluster for the adapter tests: Debian's `postgresql`
# binaries (installed if missing), our own data directory, 127.0.0.1 only, a
# fixed non-default port, TCP only (no Unix socket), a `uoom` role and database.
# The machine's own clusters (pg_lsclusters) are never touched.
#
# usage: postgres.sh start|stop|status|url|ca|psql [ARGS...]|reset
#   start   install if needed, initdb on first use (and a test CA + server
#           certificate: TLS offered, see make_certs), start, wait until ready, create role + db
#   stop    pg_ctl stop -m fast; nothing left running
#   status  exit 0 when the server accepts connections
#   url     print the connection URL (postgres://uoom:uoom@127.0.0.1:25432/uoom)
#   ca      print the path of the test CA's certificate (for PGSSLROOTCERT)
#   psql    run psql against the uoom database
#   restart-immediate  pg_ctl restart -m immediate: the server dies without a
#           checkpoint (as on a crash) and comes back after crash recovery;
#           the `pg-restart` fault of `uoom simulate --replicas`
#   reset   stop and delete the data directory
#   prealloc-wal [N]  write the cluster's WAL segments now (N, by default
#           max_wal_size's worth), as a server that has run for a while has
#           them: for benchmarks
# env: UOOM_PG_PORT (25432)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PORT="${UOOM_PG_PORT:-25432}"
DB=uoom
USER_NAME=uoom
PASSWORD=uoom
URL="postgres://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB"

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_pg() {
  pg_bin >/dev/null && return 0
  log "installing Debian's postgresql"
  # Our cluster is the only one we want: no default 'main' cluster on 5432.
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    as_root mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  apt_install postgresql postgresql-client
  pg_bin >/dev/null || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
}

# PostgreSQL refuses to run as root: as root we run it as the `postgres` user.
if [ "$(id -u)" -eq 0 ]; then OS_USER=postgres; else OS_USER=$(id -un); fi
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

# target/servers/pg when the server's OS user can reach it, else a folder in /var/tmp.
choose_dir() {
  local d="$SERVERS_DIR/pg"
  mkdir -p "$d"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$OS_USER" "$d"
    if ! runuser -u "$OS_USER" -- test -w "$d" 2>/dev/null; then
      d="/var/tmp/uoom-servers-$(echo "$SERVERS_DIR" | cksum | cut -d' ' -f1)/pg"
      mkdir -p "$d"; chown "$OS_USER" "$d"; chmod 700 "$d"
    fi
  fi
  echo "$d"
}

PG_DIR=""
setup_paths() {
  PG_DIR=$(choose_dir)
  DATA="$PG_DIR/data"
  LOGF="$PG_DIR/postgres.log"
}

psql_admin() {
  PGPASSWORD=postgres "$BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

ready() { as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; }

start() {
  install_pg
  BIN=$(pg_bin)
  setup_paths
  if [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    ready && { log "already running on 127.0.0.1:$PORT"; return 0; }
  fi
  port_open "$PORT" && die "port $PORT is taken by another process"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb $DATA"
    local pwfile="$PG_DIR/.pw"
    echo postgres >"$pwfile"; chown "$OS_USER" "$pwfile" 2>/dev/null || true
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    cat >>"$DATA/postgresql.conf" <<EOF

# Written by scripts/servers/postgres.sh: loopback only, TCP only.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
# The write model's load (uoom simulate over the adapters) writes ~5 KB of WAL
# per order: fewer checkpoints (so fewer full-page images), compressed
# full-page images, and WAL buffers that backends do not fill and flush
# themselves.
max_wal_size = 2GB
wal_compression = lz4
wal_buffers = 64MB
# Backends' own data-file writes (evicting dirty buffers, mostly the outbox's)
# handed to the kernel every 256 kB, as the checkpointer and bgwriter do, so
# they do not pile up in the page cache and reach the disk in bursts that the
# commits' WAL flushes queue behind (60 s runs at 5,000 orders/s: P99 28.9-29.5
# ms against 32.9-71.8 ms, the slowest order 73-79 ms against 107-206 ms).
backend_flush_after = 256kB
logging_collector = off
log_min_messages = warning
EOF
  fi
  make_certs
  log "starting PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOGF" -w -t "$START_TIMEOUT" -o "-p $PORT" start >/dev/null \
    || { tail -30 "$LOGF" >&2; die "pg_ctl start failed"; }
  wait_until "$START_TIMEOUT" "" postgres ready || die "server not accepting connections"
  # The role and database, created once.
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" ]; then
    psql_admin -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'"
  fi
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_admin -c "CREATE DATABASE $DB OWNER $USER_NAME"
  fi
  log "ready: $URL"
}

# TLS for the tests of sslmode=require: a throwaway CA ($PG_DIR/tls/ca.pem,
# what `postgres.sh ca` prints) and a server certificate it signed for
# 127.0.0.1 and localhost, made once per data directory. Clients that do
# not ask for TLS are unaffected (ssl = on only offers it).
make_certs() {
  local dir="$PG_DIR/tls"
  [ -f "$DATA/server.crt" ] && [ -f "$dir/ca.pem" ] && return 0
  make_test_certs "$dir"
  cp "$dir/server.key" "$dir/server.crt" "$DATA/"
  chmod 600 "$DATA/server.key"
  chown "$OS_USER" "$DATA/server.key" "$DATA/server.crt" 2>/dev/null || true
  grep -q '^ssl = on' "$DATA/postgresql.conf" || echo "ssl = on" >>"$DATA/postgresql.conf"
}

# A new cluster makes each WAL segment it reaches, up to max_wal_size of them:
# 16 MB of zeros written and fsynced while the WAL write lock is held, so every
# commit waits. A server that has run for a while recycles its old segments
# instead. At the write model's ~16 MB of WAL a second (uoom simulate, 5,000
# orders/s) that is a new segment a second, and the seconds that make one are
# the slow ones (docs/benchmarks.md). This makes them all at once, then a
# checkpoint recycles them.
wal_segments() {
  psql_admin -tAc "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'"
}
prealloc_wal() { # [SEGMENTS]
  BIN=$(pg_bin) || die "postgres not installed"
  setup_paths
  ready || die "postgres is not running (postgres.sh start)"
  local want have max_segs seg_mb min_mb
  read -r max_segs seg_mb min_mb <<<"$(psql_admin -tA -F ' ' -c "SELECT
      pg_size_bytes(current_setting('max_wal_size')) / pg_size_bytes(current_setting('wal_segment_size')),
      pg_size_bytes(current_setting('wal_segment_size')) / 1048576,
      pg_size_bytes(current_setting('min_wal_size')) / 1048576")"
  want=${1:-$max_segs}
  [[ "$want" =~ ^[0-9]+$ ]] || die "prealloc-wal: '$want' is not a number of segments"
  have=$(wal_segments)
  if [ "$have" -ge "$want" ]; then
    log "pg_wal holds $have segments (wanted: $want): nothing to do"
    return 0
  fi
  # For as long as it writes them, max_wal_size goes up, so that no checkpoint
  # starts part-way: one would recycle the segments behind it into the ones
  # still to come, and no more would be made. min_wal_size goes up to the
  # segments wanted and stays there: checkpoints never remove fewer than it
  # (they recycle them for later), so the segments stay.
  [ "$min_mb" -ge $((want * seg_mb)) ] || min_mb=$((want * seg_mb))
  psql_admin -c "ALTER SYSTEM SET min_wal_size = '${min_mb}MB'" \
    -c "ALTER SYSTEM SET max_wal_size = '$((3 * want * seg_mb))MB'" -c "SELECT pg_reload_conf()" >/dev/null
  # The checkpointer rereads its settings between two waits: give it one.
  sleep 1
  log "writing $((want - have)) WAL segments (pg_wal holds $have of $want; min_wal_size ${min_mb}MB)"
  # Each switch needs a record since the last one; the message is that record.
  local status=0
  psql_admin -c "DO \$\$ BEGIN FOR i IN 1..$((want + 1)) LOOP
      PERFORM pg_logical_emit_message(false, 'uoom.prealloc', '');
      PERFORM pg_switch_wal();
    END LOOP; END \$\$" -c "CHECKPOINT" || status=$?
  psql_admin -c "ALTER SYSTEM RESET max_wal_size" -c "SELECT pg_reload_conf()" >/dev/null
  [ "$status" -eq 0 ] || die "writing the WAL segments failed"
  have=$(wal_segments)
  [ "$have" -ge "$want" ] || die "pg_wal holds $have segments after the checkpoint, not $want"
  log "pg_wal holds $have segments"
}

stop() {
  BIN=$(pg_bin) || { log "postgres: not installed, nothing to stop"; return 0; }
  setup_paths
  if [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
    log "postgres: stopped"
  else
    log "postgres: not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    BIN=$(pg_bin) || { echo "postgres: not installed"; exit 1; }
    if ready; then echo "postgres: running on 127.0.0.1:$PORT"; else echo "postgres: stopped"; exit 1; fi ;;
  url) echo "$URL" ;;
  ca) setup_paths; echo "$PG_DIR/tls/ca.pem" ;;
  psql)
    shift; BIN=$(pg_bin) || die "postgres not installed"
    PGPASSWORD=$PASSWORD "$BIN/psql" -X -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d "$DB" "$@" ;;
  restart-immediate)
    BIN=$(pg_bin) || die "postgres not installed"
    setup_paths
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOGF" -m immediate -w -t "$START_TIMEOUT" -o "-p $PORT" restart >/dev/null \
      || die "the immediate restart failed (see $LOGF)"
    log "postgres: restarted (immediate)" ;;
  reset) stop; [ -n "${DATA:-}" ] && rm -rf "$DATA"; log "data removed" ;;
  prealloc-wal) prealloc_wal "${2:-}" ;;
  *) echo "usage: $0 start|stop|status|url|ca|psql [ARGS...]|restart-immediate|reset|prealloc-wal [N]" >&2; exit 2 ;;
esac
