#!/usr/bin/env bash
# Retention on PostgreSQL: dropping one month partition of `results` versus a DELETE of as many
# rows of another month, in the collector's real schema.
#
#   ./scripts/bench-partitions.sh [ROWS_PER_MONTH]      (default 3000000)
#
# PGSERVER (default postgres://postgres@127.0.0.1:5432, as scripts/test.sh sets it up) names the
# server; a scratch database fathom_bench_partitions_PID is made there and dropped at the end.
# Needs psql. How: the migrations of collector/migrations/postgres/ in order (psql -f), the
# partitions of January and February 2025, then ROWS_PER_MONTH results in each (40 % speed, 50 %
# radio, 10 % IPv6, bodies of ~330 bytes like the wire format's), VACUUM ANALYZE, and in psql with
# \timing: retention dropping January (fathom_drop_result_partitions_before, the collector's own
# function) and a DELETE of February's rows, then the VACUUM that DELETE leaves to do.
set -euo pipefail

ROWS=${1:-3000000}
SERVER=${PGSERVER:-postgres://postgres@127.0.0.1:5432}
DB=fathom_bench_partitions_$$
cd "$(dirname "$0")/.."

psql -X -q "$SERVER/postgres" -c "CREATE DATABASE $DB"
trap 'psql -X -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for f in collector/migrations/postgres/*.sql; do
  psql -X -q -v ON_ERROR_STOP=1 "$SERVER/$DB" -f "$f" >/dev/null
done

JAN=$(( $(date -ud 2025-01-01 +%s) * 1000 ))
FEB=$(( $(date -ud 2025-02-01 +%s) * 1000 ))
MAR=$(( $(date -ud 2025-03-01 +%s) * 1000 ))

echo "Generating $ROWS results in each of January and February 2025 ..." >&2
psql -X -q -v ON_ERROR_STOP=1 "$SERVER/$DB" <<SQL >/dev/null
SELECT fathom_ensure_result_partitions($JAN, $FEB);
INSERT INTO results (id, kind, probe_id, site_id, carrier, interface, measured_at_ms,
  received_at_ms, clock_synced, simulated, download_mbps, rat, rsrp_dbm, sinr_db, url,
  supports_ipv6, probe_ipv6, error, body, probe_measured_at_ms, time_status, probe_time_ms)
SELECT 'bench-' || lpad(i::text, 10, '0'),
  CASE WHEN i % 10 < 4 THEN 'speed' WHEN i % 10 < 9 THEN 'radio' ELSE 'ipv6' END,
  'probe-' || (i % 500), 'site-' || (i % 120), (ARRAY['cmcc', 'cu', 'ct', 'cbn'])[1 + i % 4],
  'wwan0', t, t + 1000, TRUE, FALSE,
  CASE WHEN i % 10 < 4 THEN 5 + (i % 1150) / 10.0 END,
  CASE WHEN i % 10 BETWEEN 4 AND 8 THEN 'nr_sa' END,
  CASE WHEN i % 10 BETWEEN 4 AND 8 THEN -130 + i % 61 END,
  CASE WHEN i % 10 BETWEEN 4 AND 8 THEN -10 + i % 36 END,
  CASE WHEN i % 10 = 9 THEN 'https://www.gov.example/' END,
  CASE WHEN i % 10 = 9 THEN i % 3 = 0 END,
  CASE WHEN i % 10 = 9 THEN TRUE END,
  NULL,
  '{"schema":1,"id":"bench-' || lpad(i::text, 10, '0') || '","probe_id":"probe-' || (i % 500)
    || '","site_id":"site-' || (i % 120) || '","carrier":"cmcc","interface":"wwan0",'
    || '"measured_at":"2025-01-15T01:15:00Z","clock_synced":true,"kind":"speed",'
    || '"download_mbps":42.5,"bytes_downloaded":26000000,"duration_ms":4900,'
    || '"latency_idle_ms":31.0,"latency_loaded_ms":80.0,"streams":1,"protocol":"http",'
    || '"server":"http://127.0.0.1/","error":null}',
  NULL, 'probe', t
FROM generate_series(0, 2 * $ROWS - 1) i,
  LATERAL (SELECT CASE WHEN i < $ROWS THEN $JAN + i * (($FEB - $JAN) / $ROWS)
                       ELSE $FEB + (i - $ROWS) * (($MAR - $FEB) / $ROWS) END AS t) times;
VACUUM ANALYZE results;
SQL

psql -X -v ON_ERROR_STOP=1 "$SERVER/$DB" <<SQL
SELECT pg_size_pretty(pg_total_relation_size('results_p2025_01')) AS january,
       pg_size_pretty(pg_total_relation_size('results_p2025_02')) AS february;
\timing on
-- Retention as the collector runs it: January's partition dropped, whole.
SELECT * FROM fathom_drop_result_partitions_before($FEB);
-- The same number of rows by DELETE: February's.
DELETE FROM results WHERE probe_time_ms >= $FEB AND probe_time_ms < $MAR;
-- What the DELETE leaves: dead rows, until a VACUUM reads the table again.
VACUUM results_p2025_02;
SQL
