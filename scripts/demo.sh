#!/usr/bin/env bash
# Runs a whole Fathom fleet on this machine, on loopback only, and leaves its results in demo-out/:
#   - a collector on SQLite (demo-out/collector.toml, demo-out/fathom.db),
#   - six probes at sites of different categories, each with three simulated modems (one per
#     carrier, in different radio states, behind user-space rate limits so carriers differ),
#     downloading real bytes from the collector for about a minute,
#   - eight earlier weeks of history, generated and marked `simulated`, so the trends have shape,
#   - this week's report in demo-out/report/.
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
BIN=$ROOT/target/release
COLLECTOR=("$BIN/fathom-collector" --config "$OUT/collector.toml")
started=$(date +%s)

rm -rf "$OUT"
mkdir -p "$OUT/probes" "$OUT/logs"
cp collector/collector.example.toml "$OUT/collector.toml"

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

websites() {
  # The ten websites of collector.example.toml; four of them support IPv6.
  local yes="www.yiyuan.gov.cn news.yiyuan.example.cn mall.yiyuan.example.cn bank.yiyuan.example.cn"
  sed -n 's/^url = "\(.*\)"/\1/p' "$OUT/collector.toml" | while read -r url; do
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

say "registering six probes, each with three simulated modems"
{ modem cmcc 95 nr_sa:-86:-10:18:n41:9 nr_sa:-99:-12:4:n41:1
  modem cu 60 nr_nsa:-92:-11:9:n78:8 lte:-95:-11:8:B3:2
  modem ct 34 lte:-97:-12:6:B1:1
  websites; } | probe hosp-01 county-hospital
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

say "backfilling $HISTORY_WEEKS earlier weeks of simulated history"
for dir in "$OUT"/probes/*/; do
  id=$(basename "$dir")
  "$BIN/fathom-agent" backfill --config "$dir/probe.toml" --weeks "$HISTORY_WEEKS" --seed "${#id}$RANDOM" \
    --out "$dir/history.jsonl" 2>>"$OUT/logs/backfill.log"
  "${COLLECTOR[@]}" import "$dir/history.jsonl" 2>>"$OUT/logs/collector-cli.log" | sed 's/^/    /'
done

say "running the six probes against the collector for ${RUN_SECONDS}s (real downloads over loopback)"
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

say "this week's indicators"
"${COLLECTOR[@]}" indicators | sed 's/^/    /'

say "writing this week's report"
"${COLLECTOR[@]}" report --out "$OUT/report" | sed 's/^/    /'

kill -TERM "$collector_pid" 2>/dev/null || true
wait "$collector_pid" 2>/dev/null || true
pids=()

pngs=$(find "$OUT/report" -name '*.png' | wc -l)
[ -f "$OUT/report/index.html" ] && [ "$pngs" -ge 3 ] || { echo "the report is incomplete" >&2; exit 1; }

say "done in $(($(date +%s) - started))s after the build"
cat <<DONE
    demo-out/collector.toml   the county: 7 sites, 10 websites
    demo-out/fathom.db        every result (SQLite; history rows have "simulated": true)
    demo-out/probes/*/        each probe's config, simulated modems, spool and backfilled history
    demo-out/logs/            collector and agent logs
    demo-out/report/          index.html, $pngs PNG charts (and SVG), CSV and indicators.json
  open demo-out/report/index.html in a browser.
DONE
