#!/usr/bin/env bash
# The dashboard on a big database: page weight and time to first render.
#
#   ./scripts/bench-dashboard.sh [ROWS] [WORKDIR]     (defaults: 10000000, target/bench-indicators)
#
# Makes (or reuses) the database of scripts/bench-indicators.sh, serves it with
# `fathom-collector serve`, then measures
#   - the bytes of the dashboard page, its font and one site page, as a browser fetches them
#     (compressed where the collector compresses);
#   - the time the collector takes to answer the page (hyperfine over curl);
#   - the time to first render: headless Chromium taking a screenshot of the page, minus the
#     same for about:blank (the browser's own start-up).
# BENCH_PROFILE=dev uses the debug build (dependencies optimised). Needs sqlite3, curl,
# hyperfine and chromium.
set -euo pipefail

ROWS=${1:-10000000}
cd "$(dirname "$0")/.."
WORK=${2:-target/bench-indicators}
WEEK=2026-W47
BENCH_GENERATE_ONLY=1 ./scripts/bench-indicators.sh "$ROWS" "$WORK"
PROFILE=${BENCH_PROFILE:-release}
OUT_DIR=$PROFILE
[ "$PROFILE" = dev ] && OUT_DIR=debug
BIN=${CARGO_TARGET_DIR:-target}/$OUT_DIR/fathom-collector
DB="$WORK/bench-$ROWS.db"
PORT=${BENCH_PORT:-18480}
URL="http://127.0.0.1:$PORT"

"$BIN" --config collector/collector.example.toml --db "sqlite://$DB" \
  serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "$URL/api/v1/health" >/dev/null && break
  sleep 0.2
done

bytes() { curl -s --compressed -o /dev/null -w '%{size_download}' "$1"; }
echo "Page weight (bytes on the wire, compressed where served so):"
echo "  dashboard  $(bytes "$URL/?week=$WEEK")"
echo "  font       $(bytes "$URL/dashboard/font.ttf")"
echo "  site page  $(bytes "$URL/site/county-hospital?week=$WEEK")"

hyperfine --warmup 1 --runs 5 --export-json "$WORK/dashboard-serve.json" \
  "curl -sf -o /dev/null '$URL/?week=$WEEK'" \
  "curl -sf -o /dev/null '$URL/site/county-hospital?week=$WEEK'"

PROFILE_DIR=$(mktemp -d)
shot() {
  echo "chromium --headless --no-sandbox --disable-gpu --user-data-dir=$PROFILE_DIR \
--window-size=1400,900 --virtual-time-budget=10000 --screenshot=$WORK/shot.png '$1'"
}
hyperfine --warmup 1 --runs 5 --export-json "$WORK/dashboard-render.json" \
  "$(shot about:blank)" "$(shot "$URL/?week=$WEEK")"
rm -rf "$PROFILE_DIR"
