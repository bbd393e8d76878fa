#!/usr/bin/env bash
# A province on PostgreSQL: one county's week, the province overview and the dashboard's
# province page, over the rollups of RESULTS results across 140 counties and 52 weeks.
#
#   ./scripts/bench-province.sh [RESULTS] [WORKDIR]    (defaults: 100000000, target/bench-province)
#
# PGSERVER (default postgres://postgres@127.0.0.1:5432, as scripts/test.sh sets it up) names the
# server; a scratch database fathom_bench_province is made there (dropped first if it exists,
# kept afterwards for EXPLAIN; BENCH_DROP=1 drops it at the end; BENCH_MEASURE_ONLY=1 measures
# the database a run before made, without making it again). Needs psql, curl and hyperfine.
#
# How the database is made:
#   - the province's files in WORKDIR: collector.toml with [province] and 140 county files
#     (c001.toml …), each with a CSV site list of 30 sites of the nine categories and its ten
#     websites;
#   - `fathom-collector probe add-many`: one probe a site (4 200), which also creates the schema
#     (the collector's migrations) and files each site under its county;
#   - `fathom-collector indicators` once on the empty database, which records the rollup rules;
#   - then psql fills the rollup tables every indicator, chart and page reads, for 52 weeks
#     ending WEEK, as RESULTS results would: three carriers at every site and a fourth at half of
#     them (14 700 site-carrier pairs), RESULTS / (52 × 14 700) results a pair and week, 40 %
#     speed tests (3 % failed), 50 % radio samples, 10 % IPv6 checks of the county's ten
#     websites; speed tests one an hour (rollup_hour), their rates in 10 Mbit/s bins
#     (rollup_speed_bins), up to 40 distinct RSRP and 25 SINR values a week (rollup_radio_values),
#     the latest check per website (rollup_ipv6). Rates, 5G shares and IPv6 support differ by
#     county, site, carrier and week, so rankings and week-over-week changes are not ties.
#     The raw `results` stay empty: no query measured here reads them (retention may have
#     dropped them, and the indicators do not change: tests/tests/e2e/postgres.rs); their
#     bytes per result are measured by scripts/bench-partitions.sh.
# Then, with the release build:
#   - hyperfine (1 warm-up, 5 runs) over whole processes: `indicators --county C --week WEEK
#     --json` and the province overview `indicators --week WEEK --json`;
#   - `serve`: the province page `/?week=WEEK` and a county's dashboard `/?week=WEEK&county=C`,
#     first answer (nothing cached) with curl, then hyperfine over curl (past weeks cached);
#   - the tables' sizes on disk.
set -euo pipefail

RESULTS=${1:-100000000}
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${2:-target/bench-province}
SERVER=${PGSERVER:-postgres://postgres@127.0.0.1:5432}
DB=fathom_bench_province
WEEK=${BENCH_WEEK:-2026-W48}
COUNTIES=${BENCH_COUNTIES:-140}   # fewer only to try the script out
SITES=30
PORT=${BENCH_PORT:-18490}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/fathom-collector
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

[ -x "$BIN" ] || cargo build --release --locked -p fathom-collector --bin fathom-collector
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$WORK"

say "the province's files: $COUNTIES counties of $SITES sites in $WORK"
CATEGORIES=(hospital transit_hub commercial park residential school library gov_service scenic)
{
  printf '# A province of %s counties (scripts/bench-province.sh)\n[province]\n' "$COUNTIES"
  printf 'name = "山东省"\ntimezone = "Asia/Shanghai"\ncounties = [\n'
  for c in $(seq -f '%03g' 1 "$COUNTIES"); do printf '  "c%s.toml",\n' "$c"; done
  printf ']\n\n[database]\nurl = "%s/%s"\n' "$SERVER" "$DB"
} >collector.toml
: >fleet.txt
for c in $(seq -f '%03g' 1 "$COUNTIES"); do
  {
    printf '[county]\nname = "第%s县"\nid = "c%s"\nsite_list = "c%s-sites.csv"\n' "$c" "$c" "$c"
    for w in $(seq 0 9); do
      kind=commercial
      [ "$w" = 0 ] && kind=gov_portal
      [ "$w" -ge 1 ] && [ "$w" -le 3 ] && kind=news
      printf '\n[[website]]\nurl = "https://w%s.c%s.example.cn/"\nkind = "%s"\n' "$w" "$c" "$kind"
    done
  } >"c$c.toml"
  {
    echo "id,name,category"
    for s in $(seq -f '%02g' 1 "$SITES"); do
      echo "c$c-s$s,第${c}县站点${s},${CATEGORIES[$((10#$s % 9))]}"
      echo "c$c-p$s c$c-s$s" >>fleet.txt
    done
  } >"c$c-sites.csv"
done

COLLECTOR=("$BIN" --config "$WORK/collector.toml")
if [ "${BENCH_MEASURE_ONLY:-0}" != 1 ]; then
  say "a fresh database $DB, its schema, $((COUNTIES * SITES)) probes"
  psql -X -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  psql -X -q "$SERVER/postgres" -c "CREATE DATABASE $DB"
  if [ "${BENCH_DROP:-0}" = 1 ]; then
    trap 'psql -X -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
  fi
  "${COLLECTOR[@]}" probe add-many fleet.txt >/dev/null
  "${COLLECTOR[@]}" indicators --county c001 --week "$WEEK" --json >/dev/null

  # Monday 00:00 in Beijing of WEEK, in Unix ms.
  year=${WEEK%-W*}
  wk=$((10#${WEEK#*-W}))
  jan4=$(date -ud "$year-01-04" +%s)
  dow=$(date -ud "$year-01-04" +%u)
  LAST=$(((jan4 - (dow - 1) * 86400 + (wk - 1) * 604800 - 8 * 3600) * 1000))
  FIRST=$((LAST - 51 * 604800000))
  PER=$((RESULTS / (52 * COUNTIES * SITES * 7 / 2)))

  say "the rollups of $RESULTS results: $PER results a site-carrier pair and week"
  started=$(date +%s)
  psql -X -q -v ON_ERROR_STOP=1 "$SERVER/$DB" <<SQL
-- Every (week, site, carrier): a rate level, a 5G share and its results split by kind.
CREATE TEMP TABLE pair_week AS
SELECT w AS k, $FIRST + w * 604800000::bigint AS week_ms, s.id AS site_id, s.county,
       c.carrier, c.n AS ci,
       -- county level, site and carrier offsets, a slow upward trend over the year
       (12 + (hashtext(s.county) & 1023) % 30 + (hashtext(s.id) & 1023) % 12 + c.n * 4
          + w * 0.08 + (hashtext(s.county || w) & 1023) % 5)::float8 AS mbps,
       LEAST(1.0, ((hashtext(s.id || c.carrier) & 1023) % 100) / 100.0
                  + ((hashtext(s.county) & 1023) % 40) / 100.0 + ((hashtext(s.id || w) & 1023) % 9) / 100.0) AS share5g,
       round($PER * 0.4 * 0.97)::bigint AS tests,
       round($PER * 0.5)::bigint AS samples
FROM generate_series(0, 51) w
CROSS JOIN sites s
JOIN LATERAL (SELECT * FROM (VALUES ('cmcc', 3), ('cu', 2), ('ct', 1), ('cbn', 0)) v(carrier, n)
              WHERE v.carrier <> 'cbn' OR hashtext(s.id) & 1 = 0) c ON TRUE;

INSERT INTO rollup_week
SELECT week_ms, pw.site_id, carrier, p.id, tests, tests * mbps, samples,
       round(samples * share5g), round(samples * share5g * 0.7), round(samples * share5g * 0.3),
       samples - round(samples * share5g) - round(samples * 0.02), round(samples * 0.02),
       $PER, 0, 0, $PER, 0
FROM pair_week pw JOIN probes p ON p.site_id = pw.site_id
ORDER BY week_ms, pw.site_id, carrier;

-- One speed test an hour, spread over the week.
INSERT INTO rollup_hour
SELECT week_ms + ((h * 5 + ci) % 168) * 3600000, site_id, carrier, 1,
       mbps * (0.6 + ((h * 37 + ci) % 80) / 100.0)
FROM pair_week, generate_series(0, LEAST(tests, 168) - 1) h
ORDER BY 1, 2, 3;

-- The rates' distribution around the level, in the rules' 10 Mbit/s bins.
INSERT INTO rollup_speed_bins
SELECT week_ms, site_id, carrier, floor(mbps / 10)::bigint - LEAST(5, floor(mbps / 10)::bigint) + b,
       GREATEST(1, tests / 11)
FROM pair_week, generate_series(0, 10) b
ORDER BY 1, 2, 3, 4;

-- Distinct signal values a week: up to 40 RSRP and 25 SINR.
INSERT INTO rollup_radio_values
SELECT week_ms, site_id, carrier, m.measure, m.first + v, GREATEST(1, samples / m.n)
FROM pair_week
CROSS JOIN (VALUES ('rsrp', -118.0, 40), ('sinr', -4.0, 25)) m(measure, first, n)
CROSS JOIN LATERAL generate_series(0, LEAST(samples, m.n) - 1) v
ORDER BY 1, 2, 3, 4, 5;

-- The latest check of each of the county's ten websites, through a probe with IPv6.
INSERT INTO rollup_ipv6
SELECT week_ms, site_id, 'https://w' || u || '.' || county || '.example.cn/', carrier, TRUE,
       week_ms + 86400000 * (1 + u % 6), 'r-' || site_id || '-' || carrier || '-' || k || '-' || u,
       ok, CASE WHEN ok THEN 1 ELSE 0 END, ok, 20, CASE WHEN ok THEN 20 ELSE 0 END, NULL
FROM pair_week, generate_series(0, 9) u,
     LATERAL (SELECT (hashtext(county || u) & 1023) % 10 < 2 + (hashtext(county || k / 4) & 1023) % 3 AS ok) o
ORDER BY 1, 2, 3, 4;

ANALYZE;
SQL
  say "rollups made in $(($(date +%s) - started)) s"
fi

psql -X "$SERVER/$DB" <<'SQL'
SELECT relname AS table, to_char(reltuples, 'FM999,999,999,999') AS rows,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS size_with_indexes,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND (relname LIKE 'rollup%' OR relname IN ('sites', 'probes'))
ORDER BY bytes DESC;
SELECT pg_size_pretty(pg_database_size(current_database())) AS database;
SQL

COUNTY=c$(printf %03d $(((COUNTIES + 1) / 2)))
say "whole processes: one county's week, the province overview"
hyperfine --warmup 1 --runs 5 --export-json "$WORK/indicators.json" \
  "${COLLECTOR[*]} indicators --county $COUNTY --week $WEEK --json" \
  "${COLLECTOR[*]} indicators --week $WEEK --json"

say "serve: the province page and a county's dashboard"
"${COLLECTOR[@]}" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true; [ "${BENCH_DROP:-0}" = 1 ] && psql -X -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  curl -sf "$URL/api/v1/health" >/dev/null && break
  sleep 0.2
done
first() { curl -sf -o /dev/null -w "%{time_total} s, %{size_download} bytes\n" "$1"; }
echo "first answers (the week's trend not yet cached; serve computes the last week ahead in the background):"
echo "  province page   $(first "$URL/?week=$WEEK")"
echo "  county page     $(first "$URL/?week=$WEEK&county=$COUNTY")"
hyperfine --warmup 1 --runs 5 --export-json "$WORK/pages.json" \
  "curl -sf -o /dev/null '$URL/?week=$WEEK'" \
  "curl -sf -o /dev/null '$URL/?week=$WEEK&county=$COUNTY'"
echo "serve's resident memory: $(grep VmRSS /proc/$SERVE/status | awk '{print $2, $3}')"
