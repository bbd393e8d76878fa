#!/usr/bin/env bash
# Ingest load benchmark (issue 8): simulated probes uploading to one release-built
# `fathom-collector serve`, on SQLite and then on PostgreSQL.
#
# Per backend:
#   1. registers PROBES probes (default 10 000) with `probe add-many` (one transaction), timed;
#   2. steady: CONNECTIONS uploads in flight for STEADY_SECONDS, each a batch of STEADY_BATCH
#      fresh results of the next probe in turn (valid speed/radio/IPv6 results of its site):
#      results/s, p50/p99 upload latency;
#   3. burst: every probe at once after an outage, each sending a backlog of BACKLOG results
#      (one upload, the agent's batch is 500): errors by status, p50/p99, total time;
#   and the collector's peak RSS (VmHWM from /proc) after each phase.
#
# The per-probe rate limit is left at its defaults (10 uploads a second after a burst of 20):
# round-robin over thousands of probes keeps each far below it, and in the burst each probe
# makes one upload. With fewer probes than about CONNECTIONS × 10 a probe could meet it, and
# the script says so.
#
#   ./scripts/bench-ingest.sh                      # 10 000 probes, sqlite and postgres
#   PROBES=1000 BACKENDS=sqlite ./scripts/bench-ingest.sh
#
# PostgreSQL: PG_URL (default postgres://postgres@127.0.0.1:5432); the database
# fathom_bench_ingest_<pid> is created by the collector and dropped afterwards (needs psql).
#
# BIN_DIR=DIR runs the fathom-collector and fathom-loadgen found in DIR instead of building
# them (to compare two builds: copy one's target/release binaries aside first).
set -euo pipefail
cd "$(dirname "$0")/.."
PROBES=${PROBES:-10000}
BACKENDS=${BACKENDS:-sqlite postgres}
STEADY_SECONDS=${STEADY_SECONDS:-20}
STEADY_BATCH=${STEADY_BATCH:-50}
CONNECTIONS=${CONNECTIONS:-32}
BACKLOG=${BACKLOG:-30}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}

for tool in jq; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 2; }
done
if [ "$PROBES" -lt $((CONNECTIONS * 10)) ]; then
    echo "note: $PROBES probes for $CONNECTIONS connections: probes may meet their rate limit (429)" >&2
fi

if [ -n "${BIN_DIR:-}" ]; then
    BIN=$BIN_DIR
else
    echo "building (release)" >&2
    cargo build --release --locked -q -p fathom-collector -p fathom-e2e \
        --bin fathom-collector --bin fathom-loadgen
    BIN=$TARGET/release
fi
WORK=$(mktemp -d)
COLLECTOR_PID=
PG_DB=fathom_bench_ingest_$$
cleanup() {
    [ -n "$COLLECTOR_PID" ] && kill "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
    if [[ " $BACKENDS " == *" postgres "* ]] && command -v psql >/dev/null; then
        psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/collector.toml" <<'EOF'
[county]
name = "Bench county"
timezone = "Asia/Shanghai"

[[site]]
id = "county-hospital"
name = "County hospital"
category = "hospital"

[[site]]
id = "bus-station"
name = "Bus station"
category = "transit_hub"

[[site]]
id = "central-plaza"
name = "Central plaza"
category = "commercial"

[[site]]
id = "river-park"
name = "River park"
category = "park"

[[site]]
id = "east-homes"
name = "East homes"
category = "residential"

[[website]]
url = "https://www.gov.example/"
kind = "gov_portal"

# The defaults, written out: see the header of this script.
[limits]
uploads_per_second = 10.0
upload_burst = 20

# Every simulated probe connects from this one loopback address, as a whole fleet behind one
# carrier-grade NAT would: the per-address and total connection caps sized for that.
[server]
max_connections = 20000
max_connections_per_source = 20000
EOF

sites=(county-hospital bus-station central-plaza river-park east-homes)
for ((n = 0; n < PROBES; n++)); do
    printf 'load-%05d %s\n' "$n" "${sites[n % 5]}"
done >"$WORK/fleet.txt"

rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for backend in $BACKENDS; do
    case $backend in
        sqlite) db="sqlite://$WORK/bench.db" ;;
        postgres) db="$PG_URL/$PG_DB" ;;
        *) echo "error: unknown backend $backend" >&2; exit 2 ;;
    esac
    C=("$BIN/fathom-collector" --config "$WORK/collector.toml" --db "$db")
    start=$(date +%s%N)
    "${C[@]}" probe add-many "$WORK/fleet.txt" >"$WORK/tokens.tsv" 2>"$WORK/add-$backend.log"
    add_ms=$((($(date +%s%N) - start) / 1000000))
    rm -f "$WORK/ready" && mkfifo "$WORK/ready"
    "${C[@]}" serve --listen 127.0.0.1:0 >"$WORK/ready" 2>"$WORK/collector-$backend.log" &
    COLLECTOR_PID=$!
    # Held open until the collector stops, so that it never writes to a closed pipe.
    exec {out}<"$WORK/ready"
    read -r line <&"$out"
    url=${line#listening on }
    echo "== $backend: $PROBES probes registered in $add_ms ms (probe add-many); collector at $url"

    L=("$BIN/fathom-loadgen" --collector "$url" --tokens "$WORK/tokens.tsv")
    steady=$("${L[@]}" steady --seconds "$STEADY_SECONDS" --batch "$STEADY_BATCH" --connections "$CONNECTIONS")
    steady_rss=$(rss_mb "$COLLECTOR_PID")
    burst=$("${L[@]}" burst --backlog "$BACKLOG")
    burst_rss=$(rss_mb "$COLLECTOR_PID")
    echo "$steady" | jq -r --arg rss "$steady_rss" \
        '"steady: \(.accepted) results in \(.seconds) s = \(.results_per_s) results/s; \(.ok) uploads of '"$STEADY_BATCH"'; p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms; errors \(.errors); collector peak RSS \($rss) MB"'
    echo "$burst" | jq -r --arg rss "$burst_rss" \
        '"burst:  \(.probes) probes × '"$BACKLOG"' results at once: \(.accepted) results in \(.seconds) s = \(.results_per_s) results/s; p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms; errors \(.errors); collector peak RSS \($rss) MB"'
    stored=$("${C[@]}" export | wc -l)
    expected=$(($(echo "$steady" | jq .accepted) + $(echo "$burst" | jq .accepted)))
    echo "stored: $stored results (acknowledged: $expected)"
    kill "$COLLECTOR_PID"
    wait "$COLLECTOR_PID" 2>/dev/null || true
    COLLECTOR_PID=
    exec {out}<&-
done
