#!/usr/bin/env bash
# Runs a whole Fathom fleet on this machine, on loopback only, and leaves its results in demo-out/:
#   - a collector on SQLite for a province of two counties (demo-out/collector.toml lists
#     demo-out/counties/yiyuan.toml, the example county, and counties/zichuan.toml, whose sites
#     come from a spreadsheet CSV), with demo-out/fathom.db,
#   - nine probes at sites of different categories, each with three simulated modems (one per
#     carrier, in different radio states, behind user-space rate limits so carriers differ),
#     downloading real bytes from the collector for about a minute,
#   - eight earlier weeks of history, generated and marked `simulated`, so the trends have shape,
#   - the province overview of this week, and each county's report in demo-out/report/COUNTY/.
#
#   ./scripts/demo.sh            (DEMO_SECONDS=60 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/demo-out
RUN_SECONDS=${DEMO_SECONDS:-60}
HISTORY_WEEKS=${DEMO_WEEKS:-8}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "building (release)"
cargo build --release --bins --locked
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
COLLECTOR=("$BIN/fathom-collector" --config "$OUT/collector.toml")
started=$(date +%s)

rm -rf "$OUT"
mkdir -p "$OUT/probes" "$OUT/logs" "$OUT/counties"
# The province file names the counties' files (docs/province.md). Yiyuan is the example
# one-county file as it is; Zichuan keeps its sites in a CSV, as a bureau would in Excel.
cat >"$OUT/collector.toml" <<'TOML'
# A province of two counties (written by scripts/demo.sh; docs/province.md)
[province]
name = "淄博市"
timezone = "Asia/Shanghai"
counties = ["counties/yiyuan.toml", "counties/zichuan.toml"]
TOML
sed 's/^# id = "yiyuan" /id = "yiyuan"   /' collector/collector.example.toml >"$OUT/counties/yiyuan.toml"
{ printf '\xef\xbb\xbf'; printf '%s\r\n' "编号 id,名称 name,类别 category,纬度 lat,经度 lon" \
  "zc-hospital,淄川区医院,医院,36.6431,117.9670" \
  "zc-station,淄川汽车站,交通枢纽,36.6512,117.9598" \
  "zc-mall,淄川商业街,商业街区,36.6469,117.9712" \
  "zc-park,般阳公园,公园广场,36.6388,117.9745" \
  "zc-library,淄川区图书馆,library,36.6455,117.9641"; } >"$OUT/counties/zichuan-sites.csv"
{
  cat <<'TOML'
# Zichuan (written by scripts/demo.sh): its sites are in zichuan-sites.csv
[county]
name = "淄川区"
id = "zichuan"
site_list = "zichuan-sites.csv"

# Its own target for I26, above the province's 25 Mbit/s.
[indicators]
i26_target_mbps = 30.0
TOML
  printf '\n[[website]]\nurl = "https://www.zichuan.gov.cn/"\nkind = "gov_portal"\nname = "淄川区人民政府"\n'
  for n in news daily tv; do printf '\n[[website]]\nurl = "https://%s.zichuan.example.cn/"\nkind = "news"\n' "$n"; done
  for c in mall ceramics travel bank jobs homes; do
    printf '\n[[website]]\nurl = "https://%s.zichuan.example.cn/"\nkind = "commercial"\n' "$c"
  done
} >"$OUT/counties/zichuan.toml"
"$BIN/fathom-collector" sites check "$OUT/counties/zichuan-sites.csv" | sed 's/^/    /'

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

say "starting the collector (SQLite: demo-out/fathom.db)"
"${COLLECTOR[@]}" serve --listen 127.0.0.1:0 >"$OUT/logs/collector.out" 2>"$OUT/logs/collector.log" &
collector_pid=$!
pids+=("$collector_pid")
for _ in $(seq 100); do
  grep -q '^listening on ' "$OUT/logs/collector.out" 2>/dev/null && break
  kill -0 "$collector_pid" 2>/dev/null || { cat "$OUT/logs/collector.log" >&2; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/^listening on //p' "$OUT/logs/collector.out")
[ -n "$URL" ] || { echo "collector did not start" >&2; cat "$OUT/logs/collector.log" >&2; exit 1; }
echo "    collector at $URL"

# modem CARRIER LINK_MBPS STATE... ; a STATE is "rat:rsrp:rsrq:sinr:band:weight"
modem() {
  local carrier=$1 link=$2; shift 2
  printf '\n[[modem]]\ncarrier = "%s"\nlink_mbps = %s\n' "$carrier" "$link"
  local i=0
  for s in "$@"; do
    IFS=: read -r rat rsrp rsrq sinr band weight <<<"$s"
    i=$((i + 1))
    printf '[[modem.state]]\nrat = "%s"\n' "$rat"
    if [ "$rat" = none ]; then
      printf 'reason = "no service"\n'
    else
      printf 'rsrp_dbm = %s\nrsrq_db = %s\nsinr_db = %s\nband = "%s"\ncell_id = "%X%02X"\n' \
        "$rsrp" "$rsrq" "$sinr" "$band" "$((RANDOM % 4096 + 256))" "$i"
    fi
    printf 'weight = %s\n' "$weight"
  done
}

# websites COUNTY_FILE HOST... : the county's ten websites, the HOSTs supporting IPv6
websites() {
  local file=$1; shift
  local yes="$*"
  sed -n 's/^url = "\(.*\)"/\1/p' "$file" | while read -r url; do
    host=${url#https://}; host=${host%%/*}
    case " $yes " in *" $host "*) v=true ;; *) v=false ;; esac
    printf '\n[[website]]\nurl = "%s"\nsupports_ipv6 = %s\n' "$url" "$v"
  done
}

# probe ID SITE, with the modem definitions on stdin
probe() {
  local id=$1 site=$2 dir=$OUT/probes/$1
  mkdir -p "$dir"
  cat >"$dir/modems.toml"
  local token
  token=$("${COLLECTOR[@]}" probe add --id "$id" --site "$site" 2>>"$OUT/logs/collector-cli.log")
  cat >"$dir/probe.toml" <<TOML
# Probe $id at $site (written by scripts/demo.sh)
collector = "$URL"
probe_id = "$id"
site_id = "$site"
token = "$token"
spool = "spool.db"

[schedule]
speed_every = "15s"   # a real probe tests hourly; the demo is short
radio_every = "4s"

[speedtest]
max_duration = "2s"

[[modem]]
carrier = "cmcc"
backend = "sim:modems.toml"

[[modem]]
carrier = "cu"
backend = "sim:modems.toml"

[[modem]]
carrier = "ct"
backend = "sim:modems.toml"
TOML
  echo "    probe $id at $site"
}

say "registering nine probes in two counties, each with three simulated modems"
# Yiyuan: four of its ten websites support IPv6.
{ modem cmcc 95 nr_sa:-86:-10:18:n41:9 nr_sa:-99:-12:4:n41:1
  modem cu 60 nr_nsa:-92:-11:9:n78:8 lte:-95:-11:8:B3:2
  modem ct 34 lte:-97:-12:6:B1:1
  websites "$OUT/counties/yiyuan.toml" www.yiyuan.gov.cn news.yiyuan.example.cn \
    mall.yiyuan.example.cn bank.yiyuan.example.cn; } | probe hosp-01 county-hospital
{ modem cmcc 72 nr_sa:-90:-11:12:n41:1
  modem cu 45 nr_sa:-95:-12:7:n78:19 nr_sa:-108:-15:-2:n78:1
  modem ct 28 nr_nsa:-101:-13:-5:n78:1; } | probe hub-01 bus-station
{ modem cmcc 110 nr_sa:-84:-9:20:n41:1
  modem cu 55 nr_nsa:-93:-11:10:n78:1
  modem ct 42 nr_sa:-96:-12:8:n78:1; } | probe plaza-01 central-plaza
{ modem cmcc 38 nr_nsa:-100:-13:2:n41:4 lte:-98:-12:4:B39:1
  modem cu 21 lte:-104:-14:1:B3:1
  modem ct 17 lte:-106:-15:-1:B1:5 none:0:0:0:x:1; } | probe park-01 lakeside-park
{ modem cmcc 52 nr_sa:-94:-11:9:n41:1
  modem cu 31 lte:-99:-12:5:B3:1
  modem ct 22 lte:-102:-13:3:B1:1; } | probe home-01 xinhe-residential
{ modem cmcc 66 nr_sa:-91:-10:11:n41:1
  modem cu 36 lte:-97:-12:6:B3:1
  modem ct 30 nr_sa:-97:-12:5:n78:9 lte:-99:-12:5:B1:1; } | probe lib-01 county-library
echo "    (lushan-scenic has no probe: reports flag it as a key public area without data)"
# Zichuan: slower links, less 5G, two websites with IPv6.
{ modem cmcc 48 nr_sa:-95:-11:8:n41:3 lte:-99:-12:5:B39:2
  modem cu 26 lte:-101:-13:3:B3:1
  modem ct 19 lte:-104:-14:1:B1:1
  websites "$OUT/counties/zichuan.toml" www.zichuan.gov.cn bank.zichuan.example.cn; } | probe zc-hosp-01 zc-hospital
{ modem cmcc 41 nr_sa:-97:-12:6:n41:1
  modem cu 23 lte:-100:-13:4:B3:1
  modem ct 27 lte:-99:-12:5:B1:1; } | probe zc-hub-01 zc-station
{ modem cmcc 57 nr_sa:-92:-11:10:n41:1
  modem cu 30 nr_nsa:-96:-12:6:n78:1 lte:-98:-12:5:B3:1
  modem ct 21 lte:-103:-13:2:B1:1; } | probe zc-mall-01 zc-mall
echo "    (zc-park and zc-library have no probe yet)"

say "backfilling $HISTORY_WEEKS earlier weeks of simulated history"
for dir in "$OUT"/probes/*/; do
  id=$(basename "$dir")
  "$BIN/fathom-agent" backfill --config "$dir/probe.toml" --weeks "$HISTORY_WEEKS" --seed "${#id}$RANDOM" \
    --out "$dir/history.jsonl" 2>>"$OUT/logs/backfill.log"
  "${COLLECTOR[@]}" import "$dir/history.jsonl" 2>>"$OUT/logs/collector-cli.log" | sed 's/^/    /'
done

say "running the nine probes against the collector for ${RUN_SECONDS}s (real downloads over loopback)"
agent_pids=()
for dir in "$OUT"/probes/*/; do
  id=$(basename "$dir")
  "$BIN/fathom-agent" run --config "$dir/probe.toml" 2>"$OUT/logs/agent-$id.log" &
  agent_pids+=("$!")
  pids+=("$!")
done
count_live() { "${COLLECTOR[@]}" export --since "$1" | wc -l; }
live_since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for ((t = 10; t <= RUN_SECONDS; t += 10)); do
  sleep 10
  printf '    %3ss: %s live results stored\n' "$t" "$(count_live "$live_since")"
done
say "stopping the probes (SIGTERM: they finish their uploads)"
for pid in "${agent_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${agent_pids[@]}"; do wait "$pid" 2>/dev/null || true; done

for dir in "$OUT"/probes/*/; do
  printf '    %-9s spool: %s\n' "$(basename "$dir")" "$("$BIN/fathom-agent" spool --config "$dir/probe.toml" --json)"
done

# Last week is whole (simulated history, IPv6 checks included); this week has just the live minute.
last_week=$(TZ=Asia/Shanghai date -d '7 days ago' +%G-W%V)
say "last week's province overview (each county's indicators, ranked)"
"${COLLECTOR[@]}" indicators --week "$last_week" | sed 's/^/    /'
say "this week's province overview"
"${COLLECTOR[@]}" indicators | sed 's/^/    /'

for county in yiyuan zichuan; do
  say "this week's report of $county"
  "${COLLECTOR[@]}" report --county "$county" --out "$OUT/report/$county" | sed 's/^/    /'
done

kill -TERM "$collector_pid" 2>/dev/null || true
wait "$collector_pid" 2>/dev/null || true
pids=()

pngs=$(find "$OUT/report" -name '*.png' | wc -l)
for county in yiyuan zichuan; do
  [ -f "$OUT/report/$county/index.html" ] || { echo "the report of $county is incomplete" >&2; exit 1; }
done
[ "$pngs" -ge 6 ] || { echo "the reports lack charts" >&2; exit 1; }

say "done in $(($(date +%s) - started))s after the build"
cat <<DONE
    demo-out/collector.toml   the province 淄博市: two county files in demo-out/counties/
    demo-out/counties/        yiyuan.toml (7 sites, 10 websites), zichuan.toml (+ zichuan-sites.csv: 5 sites)
    demo-out/fathom.db        every result (SQLite; history rows have "simulated": true)
    demo-out/probes/*/        each probe's config, simulated modems, spool and backfilled history
    demo-out/logs/            collector and agent logs
    demo-out/report/*/        each county's index.html, PNG charts (and SVG), CSV and indicators.json
  open demo-out/report/yiyuan/index.html in a browser, or browse the dashboard, whose / is the
  province overview:
    target/release/fathom-collector --config demo-out/collector.toml serve --listen 127.0.0.1:8080
DONE
