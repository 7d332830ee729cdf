#!/usr/bin/env bash
# Checks core/migrations/postgres against the real server started by postgres.sh:
# the migrations apply cleanly to a fresh database, the schema holds
# (sql/schema_checks.sql), the insert trigger notifies, two concurrent
# claimers with FOR UPDATE SKIP LOCKED never claim the same event, and the
# slot recycler neither waits long for a relay nor truncates under one, and
# `postgres.sh prealloc-wal` makes the WAL segments asked for.
# Prints "postgres checks: N passed, N failed"; exit 1 on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
MIGRATIONS="$SERVERS_ROOT/core/migrations/postgres"
PORT="${UOOM_PG_PORT:-25432}"
DB="uoom_check_$$"
WORK=$(mktemp -d)
passed=0; failed=0

admin() { PGPASSWORD=postgres psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
q() { PGPASSWORD=uoom psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U uoom -d "$DB" "$@"; }
check() {
  local name=$1; shift
  if "$@" >"$WORK/out" 2>&1; then passed=$((passed + 1)); echo "ok   $name"
  else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$WORK/out" | tail -20; fi
}
cleanup() { admin -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$HERE/postgres.sh" status >/dev/null || die "postgres is not running: $HERE/postgres.sh start"
admin -c "CREATE DATABASE $DB OWNER uoom"

apply_migrations() {
  local f n=0
  for f in "$MIGRATIONS"/*.sql; do
    q --single-transaction -f "$f" || { echo "migration $(basename "$f") failed"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "no migrations in $MIGRATIONS"; return 1; }
  # Everything the adapters rely on is there.
  local t
  for t in orders saga_state outbox_events; do
    [ "$(q -tAc "SELECT to_regclass('public.$t') IS NOT NULL")" = t ] || { echo "table $t missing"; return 1; }
  done
  [ "$(q -tAc "SELECT count(*) FROM pg_proc WHERE proname IN ('outbox_claim_partitions', 'outbox_pending', 'outbox_recycle', 'outbox_slot_at')")" = 4 ] \
    || { echo "outbox_claim_partitions / outbox_pending / outbox_recycle / outbox_slot_at missing"; return 1; }
}
check "migrations apply cleanly to a fresh database" apply_migrations

check "schema checks (sql/schema_checks.sql)" q -f "$HERE/sql/schema_checks.sql"

notify_check() {
  # One notification per INSERT statement; one per transaction when the payloads match.
  q >"$WORK/notify" <<'SQL'
LISTEN uoom_outbox;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
SELECT gen_random_uuid(), 'order', 'n' || g, 'OrderCreated', '{}', now() FROM generate_series(1, 3) g;
BEGIN;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
VALUES (gen_random_uuid(), 'order', 'n4', 'OrderCreated', '{}', now());
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
VALUES (gen_random_uuid(), 'order', 'n5', 'OrderCreated', '{}', now());
COMMIT;
SQL
  local n
  n=$(grep -c 'Asynchronous notification "uoom_outbox"' "$WORK/notify" || true)
  [ "$n" = 2 ] || { echo "expected 2 notifications, got $n:"; cat "$WORK/notify"; return 1; }
  q -c "UPDATE outbox_events SET published_at = now() WHERE aggregate_id LIKE 'n%' AND published_at IS NULL"
}
check "insert trigger notifies uoom_outbox once per statement/transaction" notify_check

concurrent_claimers() {
  local events=2000 aggregates=200 per_part=37 rounds=120
  q -c "INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
        SELECT gen_random_uuid(), 'order', 'agg-' || (g % $aggregates), 'OrderCreated',
               jsonb_build_object('n', g), now()
        FROM generate_series(1, $events) g ORDER BY g"
  # Each claimer is a relay: in one transaction it locks 4 partitions, reads
  # their pending events, holds them a moment (so the other one has to skip
  # them), "publishes" what it read and commits.
  local r
  for r in A B; do
    : >"$WORK/claims-$r.sql"
    for _ in $(seq "$rounds"); do
      printf "BEGIN;\nCREATE TEMP TABLE IF NOT EXISTS mine (part smallint) ON COMMIT DELETE ROWS;\nINSERT INTO mine SELECT outbox_claim_partitions(4);\nSELECT '%s', id, aggregate_id, seq FROM outbox_pending((SELECT array_agg(part) FROM mine), %d);\nSELECT 1 FROM pg_sleep(0.005);\nUPDATE outbox_events SET published_at = statement_timestamp() WHERE id IN (SELECT id FROM outbox_pending((SELECT array_agg(part) FROM mine), %d));\nCOMMIT;\n" \
        "$r" "$per_part" "$per_part" >>"$WORK/claims-$r.sql"
    done
    q -tA -F, -f "$WORK/claims-$r.sql" | grep "^$r," >"$WORK/claimed-$r" &
  done
  wait
  local a b total dup unpublished disorder
  a=$(wc -l <"$WORK/claimed-A"); b=$(wc -l <"$WORK/claimed-B")
  total=$((a + b))
  dup=$(cat "$WORK/claimed-A" "$WORK/claimed-B" | cut -d, -f2 | sort | uniq -d | wc -l)
  unpublished=$(q -tAc "SELECT count(*) FROM outbox_events WHERE aggregate_id LIKE 'agg-%' AND published_at IS NULL")
  # Per aggregate, publication follows seq, whichever relay published.
  disorder=$(q -tAc "SELECT count(*) FROM outbox_events x JOIN outbox_events y
                       ON x.aggregate_id = y.aggregate_id AND x.seq < y.seq
                     WHERE x.aggregate_id LIKE 'agg-%' AND x.published_at > y.published_at")
  echo "relay A claimed $a, relay B claimed $b (of $events), claimed twice $dup, unpublished $unpublished, out of order $disorder"
  [ "$dup" -eq 0 ] && [ "$total" -eq "$events" ] && [ "$unpublished" -eq 0 ] && [ "$disorder" -eq 0 ] \
    && [ "$a" -gt 0 ] && [ "$b" -gt 0 ]
}
check "two concurrent relays (partitions locked with SKIP LOCKED) never claim the same event" concurrent_claimers

recycler_locking() {
  # A slot of delivered (deleted) rows, four slots behind now in the ring.
  local slot
  slot=$(q -tAc "SELECT (outbox_slot_at(clock_timestamp()) + 4) % 8")
  q -c "INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot)
        SELECT gen_random_uuid(), 'order', 'rc-' || g, 'OrderCreated', '{}', now(), $slot
        FROM generate_series(1, 100) g" >/dev/null
  q -c "DELETE FROM outbox_events WHERE aggregate_id LIKE 'rc-%'" >/dev/null
  # A relay mid-batch: its transaction has read the outbox, which holds
  # every slot's partition for share until it commits, 2 s later.
  q -c "BEGIN; SELECT count(*) FROM outbox_pending(ARRAY[0::smallint], 10); SELECT pg_sleep(2); COMMIT;" >/dev/null &
  local relay=$!
  sleep 0.5
  # The recycler does not wait for it: it gives up after its 50 ms lock_timeout.
  local start end during after
  start=$(date +%s%N)
  during=$(q -tAc "SELECT count(*) FROM outbox_recycle()")
  end=$(date +%s%N)
  wait "$relay"
  # One slot a call, oldest first: older slots of earlier checks may go first.
  after=""
  for _ in 1 2 3 4 5 6 7 8; do after="$after $(q -tAc "SELECT s FROM outbox_recycle() s")"; done
  echo "slot $slot: with a relay mid-batch $during truncated in $(( (end - start) / 1000000 )) ms; after its commit, truncated:$after"
  [ "$during" = 0 ] && [ $(( (end - start) / 1000000 )) -lt 1000 ] && [[ " $after " == *" $slot "* ]] \
    && [ "$(q -tAc "SELECT pg_relation_size('outbox_events_s$slot')")" = 0 ]
}
check "outbox_recycle waits at most its lock_timeout for a relay's batch, then truncates once it is done" recycler_locking
grep '^relay A' "$WORK/out" || true

# postgres.sh prealloc-wal (what benches/adapters/simulate_cpu.sh runs first),
# asked for two segments more than pg_wal holds: they are made and stay there
# (recycled by its checkpoint, not removed), and asking again does nothing.
prealloc_wal() {
  local segments='SELECT count(*) FROM pg_ls_waldir() WHERE name ~ $$^[0-9A-F]{24}$$'
  local have want
  have=$(admin -tAc "$segments"); want=$((have + 2))
  "$HERE/postgres.sh" prealloc-wal "$want" || return 1
  [ "$(admin -tAc "$segments")" -ge "$want" ] \
    || { echo "pg_wal holds $(admin -tAc "$segments") segments, wanted $want"; return 1; }
  "$HERE/postgres.sh" prealloc-wal "$want" 2>&1 | grep -q 'nothing to do' \
    || { echo "a second prealloc-wal $want did not say there was nothing to do"; return 1; }
  ! "$HERE/postgres.sh" prealloc-wal many 2>/dev/null \
    || { echo "prealloc-wal took 'many' for a number"; return 1; }
}
check "postgres.sh prealloc-wal makes the segments asked for and keeps them" prealloc_wal

echo "postgres checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
