#!/usr/bin/env bash
# Order-write throughput of the test PostgreSQL (postgres.sh start first): pgbench
# runs order_write.sql in a fresh, migrated database that is dropped afterwards.
# usage: pg-order-write.sh [--batch N] [CLIENTS] [SECONDS]   (defaults 8 and 15)
#   --batch N   N orders per transaction (order_write_batch.sql) instead of one
# Orders/s = tps x N. PGOPTIONS='-c synchronous_commit=off' measures without the WAL flush wait.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${UOOM_PG_PORT:-25432}"
SCRIPT=(-f "$HERE/order_write.sql")
if [ "${1:-}" = --batch ]; then SCRIPT=(-f "$HERE/order_write_batch.sql" -D "batch=$2"); shift 2; fi
CLIENTS="${1:-8}"; SECS="${2:-15}"
DB="uoom_bench_$$"
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
admin() { PGPASSWORD=postgres "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
trap 'admin -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
admin -c "CREATE DATABASE $DB OWNER uoom"
for f in "$SERVERS_ROOT"/core/migrations/postgres/*.sql; do
  PGPASSWORD=uoom "$BIN/psql" -X -q -v ON_ERROR_STOP=1 --single-transaction -h 127.0.0.1 -p "$PORT" -U uoom -d "$DB" -f "$f"
done
PGPASSWORD=uoom "$BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U uoom -d "$DB" \
  "${SCRIPT[@]}" -c "$CLIENTS" -j 2 -T "$SECS" -P 5 2>&1
