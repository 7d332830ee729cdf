#!/usr/bin/env bash
# One `uoom simulate` run over the test servers' PostgreSQL and Kafka, with the
# CPU seconds each process spent on it (the figures of docs/benchmarks.md's
# adapter section). Prints one line:
#
#   LABEL p99_ms=.. within_1s=..% max_lag_ms=.. rps=.. published=.. windows_over_20ms=.. \
#         cpu_pg=.. cpu_kafka=.. cpu_uoom=..
#
# usage: benches/adapters/simulate_cpu.sh LABEL [BIN] [-- extra simulate args]
#   BIN      the uoom binary (default target/release/uoom, built with
#            `cargo build --release -p uoom-cli --features adapters`)
#   ORDERS   orders per run (default 300000: 60 s at 5,000/s)
#   RPS      arrival rate (default 5000)
#   KEEP=1   keep the run's JSON report in target/bench-runs/LABEL-TIME.json
#   KAFKA=scram  publish over the test broker's TLS + SASL/SCRAM-SHA-512
#            listener (MSK's 9096) instead of its plain one
#   KAFKA=iam    publish over its TLS + IAM listener (MSK's 9098): SigV4
#            tokens from the test identity, given as AWS_* variables
#   KAFKA_PROPS  further client properties, `;`-separated
#            (e.g. "compression.type=lz4"), given with --kafka-config
# The servers must be up (`scripts/servers/all.sh start`); the environment
# they print (`scripts/servers/all.sh env`) is read here. A new PostgreSQL
# cluster's WAL segments are written first (`postgres.sh prealloc-wal`, once
# per cluster): a server that has run for a while recycles them, and a run
# that makes them has a P99 several times higher (docs/benchmarks.md).
#
# CPU: PostgreSQL is every server process's time (the postmaster's session)
# plus what its reaped children used (a backend that exits moves its time
# into the postmaster's cutime/cstime); Kafka is the broker's JVM; uoom is
# what the child used (getrusage of the run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
label=${1:?usage: simulate_cpu.sh LABEL [BIN] [-- args]}
shift
BIN=$ROOT/target/release/uoom
if [ $# -gt 0 ] && [ "$1" != -- ]; then BIN=$1; shift; fi
[ "${1:-}" = -- ] && shift
ORDERS=${ORDERS:-300000}
RPS=${RPS:-5000}

set -a
eval "$("$ROOT/scripts/servers/all.sh" env)"
set +a
# The process listening on a URL's or broker list's port.
listener() {
  local port=${1##*:}; port=${port%%/*}
  ss -Hltnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
"$ROOT/scripts/servers/postgres.sh" prealloc-wal >&2
pg_hostport=${UOOM_TEST_POSTGRES_URL#*@}; pg_hostport=${pg_hostport%%/*}
pg_pid=$(listener "$pg_hostport")
kafka_pid=$(listener "${UOOM_TEST_KAFKA_BROKERS%%,*}")
[ -n "$pg_pid" ] && [ -n "$kafka_pid" ] || { echo "servers not running" >&2; exit 1; }
tck=$(getconf CLK_TCK)
# utime+stime (+cutime+cstime with "all") of a pid, in clock ticks.
ticks() {
  awk -v all="$2" '{ sub(/^.*\) /, ""); t = $12 + $13; if (all) t += $14 + $15; print t }' "/proc/$1/stat"
}

out=$(mktemp)
props=$(mktemp)
trap 'rm -f "$out" "$props"' EXIT
brokers=$UOOM_TEST_KAFKA_BROKERS
kafka_args=()
if [ "${KAFKA:-plain}" = scram ]; then
  brokers=$UOOM_TEST_KAFKA_SASL_BROKERS
  cat >"$props" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.username=$UOOM_TEST_KAFKA_SCRAM_USER
sasl.password=$UOOM_TEST_KAFKA_SCRAM_PASSWORD
ssl.ca.location=$UOOM_TEST_KAFKA_CA
PROPS
elif [ "${KAFKA:-plain}" = iam ]; then
  brokers=$UOOM_TEST_KAFKA_IAM_BROKERS
  cat >"$props" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=AWS_MSK_IAM
ssl.ca.location=$UOOM_TEST_KAFKA_CA
PROPS
  export AWS_ACCESS_KEY_ID=$UOOM_TEST_KAFKA_IAM_ACCESS_KEY
  export AWS_SECRET_ACCESS_KEY=$UOOM_TEST_KAFKA_IAM_SECRET
  export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
fi
[ -n "${KAFKA_PROPS:-}" ] && tr ';' '\n' <<<"$KAFKA_PROPS" >>"$props"
[ -s "$props" ] && kafka_args=(--kafka-config "$props")
# PostgreSQL: every live server process, plus what the postmaster's reaped
# children (backends that exited) used.
pg_ticks() {
  local total p t
  total=$(awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$pg_pid/stat")
  for p in "$pg_pid" $(pgrep -P "$pg_pid"); do
    # A backend may exit between pgrep and here: its time is then in
    # the postmaster's cutime, read above or at the next reading.
    t=$(ticks "$p" "" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
pg_children=$(pgrep -c -P "$pg_pid")
pg0=$(pg_ticks); k0=$(ticks "$kafka_pid" "")
/usr/bin/time -f '%U %S' -o "$out.time" "$BIN" simulate \
  --postgres "$UOOM_TEST_POSTGRES_URL" --kafka "$brokers" "${kafka_args[@]}" \
  --orders "$ORDERS" --rps "$RPS" --intake-write with-outcome --json "$@" >"$out"
# The run's backends exit as its pools close; their time reaches the
# postmaster's cutime only once it has reaped them (up to 5 s).
for _ in $(seq 50); do
  [ "$(pgrep -c -P "$pg_pid")" -le "$pg_children" ] && break
  sleep 0.1
done
pg1=$(pg_ticks); k1=$(ticks "$kafka_pid" "")
read -r u s <"$out.time"
rm -f "$out.time"

if [ "${KEEP:-0}" = 1 ]; then
  mkdir -p "$ROOT/target/bench-runs"
  cp "$out" "$ROOT/target/bench-runs/$label-$(date -u +%H%M%S).json"
fi
python3 - "$label" "$out" "$(( pg1 - pg0 ))" "$(( k1 - k0 ))" "$tck" "$u" "$s" <<'EOF'
import json, sys
label, path, pg, kafka, tck, u, s = sys.argv[1:]
r = json.loads(open(path).read().strip().splitlines()[-1])
lag = r["delivery_lag"]
print(f'{label} p99_ms={r["latency_us"]["p99"] / 1e3:.1f} '
      f'within_1s={lag["share_within_1s"] * 100:.2f}% max_lag_ms={lag["max_ms"]} '
      f'rps={r["throughput_per_s"]:.0f} published={r["published"]}/{r["events"]} '
      f'windows_over_20ms={r["latency_windows"]["over_20ms_p99"]} '
      f'cpu_pg={int(pg) / int(tck):.1f} cpu_kafka={int(kafka) / int(tck):.1f} '
      f'cpu_uoom={float(u) + float(s):.1f}')
EOF
