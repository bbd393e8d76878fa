#!/usr/bin/env bash
# Times `fathom-collector indicators --week W --json` over a SQLite database of many results.
#
#   ./scripts/bench-indicators.sh [ROWS] [WORKDIR]      (defaults: 10000000, target/bench-indicators)
#
# BENCH_PROFILE=dev uses the debug build (dependencies, SQLite included, are optimised at
# opt-level 2 in this workspace) to skip a release build; default: release.
#
# How the database is made: the collector creates it (migrations, sites from
# collector/collector.example.toml); then sqlite3 inserts ROWS results in the real schema with
# one recursive-CTE INSERT: 52 weeks ending with the reported week, in time order, spread over
# the 7 sites and the 4 carriers (two in three (site, carrier) pairs with good 5G); 40 % speed tests (3 % failed, 5-120 Mbit/s by carrier), 50 %
# radio samples (NR SA/NSA/LTE, RSRP -130..-70 dBm, SINR -10..25 dB), 10 % IPv6 checks of the ten
# websites (body with the raw values, 5 % without a probe IPv6 path), 1 % with unsynchronised
# clocks. Bodies are short JSON, not full wire-format results, so the file is smaller than a
# field database of the same count. Needs sqlite3 and hyperfine (else /usr/bin/time, 5 runs).
set -euo pipefail

ROWS=${1:-10000000}
cd "$(dirname "$0")/.."
WORK=${2:-target/bench-indicators}
WEEK=2026-W47
mkdir -p "$WORK"
DB="$WORK/bench-$ROWS.db"
CONFIG=collector/collector.example.toml

PROFILE=${BENCH_PROFILE:-release}
cargo build --profile "$PROFILE" --locked -p fathom-collector --bin fathom-collector
OUT_DIR=$PROFILE
[ "$PROFILE" = dev ] && OUT_DIR=debug
BIN=${CARGO_TARGET_DIR:-target}/$OUT_DIR/fathom-collector
collector() { "$BIN" --config "$CONFIG" --db "sqlite://$DB" "$@"; }

if [ ! -s "$DB" ] || [ "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM results')" != "$ROWS" ]; then
  rm -f "$DB" "$DB-wal" "$DB-shm"
  collector probe list >/dev/null # creates the database, runs the migrations, loads the sites
  # Window of the 52 weeks ending with $WEEK (Monday 2026-11-16 00:00 +08 to 2026-11-23 00:00 +08).
  END_MS=$(( $(date -d '2026-11-22T16:00:00Z' +%s) * 1000 ))
  SPAN_MS=$(( 52 * 7 * 86400 * 1000 ))
  echo "Generating $ROWS results into $DB ..."
  start=$(date +%s)
  sqlite3 "$DB" >/dev/null <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -400000;
CREATE TEMP TABLE s AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS n, id FROM sites;
CREATE TEMP TABLE c (n INTEGER PRIMARY KEY, id TEXT, base REAL);
INSERT INTO c VALUES (0, 'cmcc', 60), (1, 'cu', 45), (2, 'ct', 50), (3, 'cbn', 25);
CREATE TEMP TABLE w (n INTEGER PRIMARY KEY, url TEXT);
INSERT INTO w VALUES (0, 'https://www.yiyuan.gov.cn/'), (1, 'https://news.yiyuan.example.cn/'),
  (2, 'https://daily.yiyuan.example.cn/'), (3, 'https://tv.yiyuan.example.cn/'),
  (4, 'https://mall.yiyuan.example.cn/'), (5, 'https://fruit.yiyuan.example.cn/'),
  (6, 'https://travel.yiyuan.example.cn/'), (7, 'https://bank.yiyuan.example.cn/'),
  (8, 'https://jobs.yiyuan.example.cn/'), (9, 'https://homes.yiyuan.example.cn/');
INSERT INTO probes (id, site_id, token_sha256, created_at_ms)
  SELECT 'bench-' || id, id, 'bench-' || id, 0 FROM sites;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < $ROWS - 1),
r AS (
  SELECT i,
    CASE WHEN i % 10 < 4 THEN 'speed' WHEN i % 10 < 9 THEN 'radio' ELSE 'ipv6' END AS kind,
    (i / 10) % (SELECT COUNT(*) FROM s) AS sn,
    (i / 3) % 4 AS cn,
    $END_MS - $SPAN_MS + (i * ($SPAN_MS / $ROWS)) AS at,
    abs(random()) % 10000 AS u,
    ((i / 10) % (SELECT COUNT(*) FROM s) + (i / 3) % 4) % 3 <> 0 AS good
  FROM seq
)
INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, measured_at_ms,
  received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, url,
  supports_ipv6, probe_ipv6, error, body)
SELECT printf('bench-%010d', r.i), r.kind, 'bench-' || s.id, s.id, c.id, 'wwan' || r.cn, r.at,
  r.at + 1000, r.u % 100 <> 0, 0,
  CASE WHEN r.kind = 'speed' AND r.u % 100 >= 3 THEN c.base * (0.1 + (r.u % 1800) / 1000.0) END,
  CASE WHEN r.kind = 'radio' THEN CASE WHEN r.good AND r.u % 100 >= 3 THEN 'nr_sa'
    WHEN r.u % 3 = 0 THEN 'nr_nsa' ELSE 'lte' END END,
  CASE WHEN r.kind = 'radio' THEN CASE WHEN r.good THEN -100 + r.u % 25 ELSE -130 + r.u % 61 END END,
  CASE WHEN r.kind = 'radio' THEN CASE WHEN r.good THEN (r.u / 61) % 20
    ELSE -10 + (r.u / 61) % 36 END END,
  CASE WHEN r.kind = 'ipv6' THEN w.url END,
  CASE WHEN r.kind = 'ipv6' AND r.u % 20 <> 0 THEN r.u % 2 END,
  CASE WHEN r.kind = 'ipv6' THEN r.u % 20 <> 0 END,
  CASE WHEN r.kind = 'speed' AND r.u % 100 < 3 THEN 'timeout' END,
  CASE WHEN r.kind = 'ipv6' THEN json_object('url', w.url, 'aaaa', json_array('fd00::1'),
      'home_ok_v6', json(CASE WHEN r.u % 2 = 1 THEN 'true' ELSE 'false' END),
      'links_checked', 20, 'links_ok_v6', 18 + r.u % 3,
      'probe_ipv6', json(CASE WHEN r.u % 20 <> 0 THEN 'true' ELSE 'false' END))
    ELSE '{"schema":1}' END
FROM r JOIN s ON s.n = r.sn JOIN c ON c.n = r.cn JOIN w ON w.n = (r.i / 10) % 10;
COMMIT;
ANALYZE;
SQL
  echo "Generated in $(( $(date +%s) - start )) s; $(du -h "$DB" | cut -f1)."
fi

# BENCH_GENERATE_ONLY=1: make the database and stop (scripts/bench-dashboard.sh serves it).
[ "${BENCH_GENERATE_ONLY:-0}" = 1 ] && exit 0
echo "Results in the database: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM results'); in $WEEK:"
collector indicators --week "$WEEK" | head -3
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs 7 --export-json "$WORK/hyperfine.json" \
    "$BIN --config $CONFIG --db sqlite://$DB indicators --week $WEEK --json"
  grep -o '"median": *[0-9.]*' "$WORK/hyperfine.json" | sed 's/"median": */median (s): /'
  echo "The whole report (12-week trend, 9 charts) once:"
  /usr/bin/time -f '%e s elapsed, %M KiB max RSS' "$BIN" --config "$CONFIG" \
    --db "sqlite://$DB" report --week "$WEEK" --out "$WORK/report" >/dev/null
else
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f '%e s elapsed, %M KiB max RSS' "$BIN" --config "$CONFIG" \
      --db "sqlite://$DB" indicators --week "$WEEK" --json >/dev/null
  done
fi
