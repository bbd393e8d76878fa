#!/usr/bin/env bash
# Speed-engine benchmark in the network lab (needs root, iproute2, iperf3, curl, python3, /usr/bin/time).
#
# A server namespace and a probe namespace joined through a router namespace whose traffic
# passes fathom-delayline (a TUN delay line: RTT_MS round trip) and a tbf-shaped link. Per rate it
# prints, for fathom-agent speedtest over HTTP and over QUIC:
#   - agent ÷ iperf3: the agent's Mbit/s over `iperf3 -R -P N -t 10 -O 1` on the same link, same
#     run. N is 4 (as the agent starts with) below 500 Mbit/s and 8 from 500 up: with four,
#     iperf3 3.12, which serves all its streams from one thread, stayed at 790-905 of a 1 Gbit/s
#     link that carries 956 Mbit/s of TCP payload, where eight reach 925-945. At 5 Mbit/s eight
#     read 4.9, 2-3 % above the 4.78 such a link can carry, where four read 4.78,
#   - bytes ÷ 10 s: the bytes the agent downloaded over those of the fixed 10 s iperf3 test,
#   - CPU s/GB agent ÷ curl: the agent's user+sys CPU seconds per GB over curl's downloading
#     the same number of bytes from the same server on the same link, right after (both pay their
#     process start and connection set-up once, over the same bytes),
#   - peak RSS of the agent.
#
#   sudo ./scripts/bench-speed.sh                 (BENCH_RATES="5 20 100 500 1000", RTT_MS=40)
#   sudo BENCH_RATES="20 100" RTT_MS=80 ./scripts/bench-speed.sh
#   sudo BENCH_KEEP=/tmp/speed ./scripts/bench-speed.sh   (keeps each agent's --json result there)
#   sudo BENCH_RATES=1000 BENCH_MAX_BYTES=600000000 ./scripts/bench-speed.sh   (a larger byte cap)
#
# Trace-driven links (BENCH_TRACES set: the constant-rate table is skipped): the delay line
# replays each named Mahimahi LTE trace (../shared/traces/mahimahi, or FATHOM_TRACES) in the
# download direction through a drop-tail queue of BENCH_QUEUE bytes (250 kB), behind a 200 Mbit/s
# tbf. At BENCH_MOMENTS (10) evenly spread moments of each trace, iperf3 -R -t 10 -P 4, the agent
# over HTTP and the agent over QUIC each run on a delay line restarted at that moment (its clock
# starts at the first packet towards the probe). Per test: Mbit/s, what the trace offered over
# those 10 s, the stop, bytes over iperf3's, the queue's drops, the loaded-latency increase and
# the variability (CV of window rates) the agent saw.
#   sudo BENCH_TRACES="TMobile-LTE-short.down Verizon-LTE-short.down ATT-LTE-driving.down" \
#        BENCH_MOMENTS=10 ./scripts/bench-speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${BENCH_RATES:-5 20 100 500 1000}
RTT_MS=${RTT_MS:-40}
# The agent's byte cap per test (its default: 400 MB, about 3.4 s at 1 Gbit/s).
MAX_BYTES=${BENCH_MAX_BYTES:-400000000}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}

for tool in ip tc iperf3 curl python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "error: the lab needs root" >&2; exit 2; }

echo "building (release)" >&2
cargo build --release --locked -q -p fathom-agent -p fathom-collector -p fathom-e2e --bins
BIN=$TARGET/release
WORK=$(mktemp -d)
S=fbs$$ R=fbr$$ P=fbp$$
cleanup() {
    # Every process left in the lab's namespaces (`jobs -p` names only the subshells that started
    # them: the servers and the delay line would outlive the script, and load later runs).
    for ns in $S $R $P; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    done
    wait 2>/dev/null || true
    for ns in $S $R $P; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

for ns in $S $R $P; do ip netns add "$ns"; nsx "$ns" ip link set lo up; done
ip link add bs$$ type veth peer name brs$$
ip link set bs$$ netns $S; ip link set brs$$ netns $R
ip link add brp$$ type veth peer name bp$$
ip link set brp$$ netns $R; ip link set bp$$ netns $P
nsx $P ip link set bp$$ name wwan0
nsx $S ip addr add 198.19.200.1/24 dev bs$$; nsx $S ip link set bs$$ up
nsx $S ip route add 198.18.0.0/15 via 198.19.200.254
nsx $R ip addr add 198.19.200.254/24 dev brs$$; nsx $R ip link set brs$$ up
nsx $R ip addr add 198.18.200.1/24 dev brp$$; nsx $R ip link set brp$$ up
nsx $P ip addr add 198.18.200.2/24 dev wwan0; nsx $P ip link set wwan0 up
nsx $P ip route add 198.19.200.0/24 via 198.18.200.1 dev wwan0
nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
nsx $R "$BIN/fathom-delayline" --name dl0 --delay "$((RTT_MS / 2))ms" >"$WORK/delayline.out" &
for _ in $(seq 50); do grep -q ready "$WORK/delayline.out" 2>/dev/null && break; sleep 0.1; done
nsx $R ip link set dl0 txqueuelen 10000
nsx $R sysctl -qw net.ipv4.conf.dl0.rp_filter=0
nsx $R ip route add default dev dl0 table 100
nsx $R ip rule add iif brs$$ lookup 100
nsx $R ip rule add iif brp$$ lookup 100

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

if [ -n "${BENCH_TRACES:-}" ]; then
    TRACE_DIR=${FATHOM_TRACES:-$PWD/../shared/traces/mahimahi}
    MOMENTS=${BENCH_MOMENTS:-10}
    QUEUE=${BENCH_QUEUE:-250000}
    URL=http://198.19.200.1:8787
    nsx $R tc qdisc replace dev brp$$ root tbf rate 200mbit burst 32kb latency 100ms
    nsx $S "$BIN/fathom-collector" testserver --open --listen 198.19.200.1:8787 --tls-dir "$WORK" \
        >"$WORK/testserver.out" 2>"$WORK/testserver.log" &
    nsx $S iperf3 -s -B 198.19.200.1 >"$WORK/iperf3-server.log" 2>&1 &
    sleep 1
    # `trace_line FILE START`: restarts the delay line as a trace-driven link at START ms.
    trace_line() {
        ip netns pids $R | xargs -r kill 2>/dev/null || true
        sleep 0.3
        rm -f "$WORK/delayline.out" "$WORK/stats"
        nsx $R "$BIN/fathom-delayline" --name dl0 --delay "$((RTT_MS / 2))ms" --trace "$1" \
            --trace-start "$2" --queue "$QUEUE" --stats "$WORK/stats" >"$WORK/delayline.out" &
        for _ in $(seq 50); do grep -q ready "$WORK/delayline.out" 2>/dev/null && break; sleep 0.1; done
        nsx $R ip link set dl0 txqueuelen 10000
        nsx $R sysctl -qw net.ipv4.conf.dl0.rp_filter=0
        nsx $R ip route replace default dev dl0 table 100
    }
    echo "| trace | moment s | offered Mbit/s | tool | Mbit/s | ÷ iperf3 | stop | duration s | bytes ÷ iperf3 | drops | loaded − idle ms | CV |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for trace in $BENCH_TRACES; do
        file=$TRACE_DIR/$trace
        [ -f "$file" ] || { echo "error: $file is missing" >&2; exit 2; }
        period=$(tail -n 1 "$file")
        for k in $(seq 0 $((MOMENTS - 1))); do
            start=$((k * period / MOMENTS))
            offered=$(python3 - "$file" "$start" <<'EOF'
import sys
lines = [int(l) for l in open(sys.argv[1]) if l.strip()]
period, start = lines[-1], int(sys.argv[2])
n, lap = 0, start // period * period
while lap < start + 10000:
    n += sum(1 for t in lines if start <= lap + t < start + 10000)
    lap += period
print(n * 1500 * 8 / 10 / 1e6)
EOF
)
            trace_line "$file" "$start"
            nsx $P iperf3 -c 198.19.200.1 -R -P 4 -t 10 --bind-dev wwan0 -J >"$WORK/iperf3.json" || true
            ip_mbps=$(json "$WORK/iperf3.json" "d['end']['sum_received']['bits_per_second']/1e6")
            ip_bytes=$(json "$WORK/iperf3.json" "d['end']['sum_received']['bytes']")
            echo "| $trace | $((start / 1000)) | $(printf %.2f "$offered") | iperf3 | $(printf %.2f "$ip_mbps") | 1 | | 10.0 | 1 | $(cut -d' ' -f2 "$WORK/stats") | | |"
            for proto in http quic; do
                trace_line "$file" "$start"
                nsx $P "$BIN/fathom-agent" speedtest --server "$URL" --interface wwan0 --protocol "$proto" \
                    --ca "$WORK/speed-cert.pem" --max-bytes "$MAX_BYTES" --json >"$WORK/agent.json" || true
                if [ -n "${BENCH_KEEP:-}" ]; then
                    mkdir -p "$BENCH_KEEP" && cp "$WORK/agent.json" "$BENCH_KEEP/agent-$trace-$start-$proto.json"
                fi
                python3 - "$WORK/agent.json" "$trace" "$start" "$offered" "$proto" "$ip_mbps" "$ip_bytes" \
                    "$(cut -d' ' -f2 "$WORK/stats")" <<'EOF'
import json, sys
path, trace, start, offered, proto, ip, ipb, drops = sys.argv[1:]
d = json.load(open(path))
mbps = d.get("download_mbps")
ip, ipb = float(ip), float(ipb)
idle, loaded = d.get("latency_idle_ms"), d.get("latency_loaded_ms")
lat = f"{loaded - idle:.0f}" if idle is not None and loaded is not None else ""
cv = d.get("variability")
rate = f"{mbps:.2f} | {mbps / ip:.3f}" if mbps is not None else f"error: {d.get('error')} | "
print(f"| {trace} | {int(start) // 1000} | {float(offered):.2f} | {proto} | {rate} | {d.get('stop')} | "
      f"{d['duration_ms'] / 1000:.1f} | {d['bytes_downloaded'] / ipb:.2f} | {drops} | {lat} | "
      + (f"{cv:.2f}" if cv is not None else "") + " |")
EOF
            done
        done
    done
    exit 0
fi

nsx $S "$BIN/fathom-collector" testserver --open --listen 198.19.200.1:8787 --tls-dir "$WORK" \
    >"$WORK/testserver.out" 2>"$WORK/testserver.log" &
nsx $S iperf3 -s -B 198.19.200.1 >"$WORK/iperf3-server.log" 2>&1 &
sleep 1
URL=http://198.19.200.1:8787

# `measured NS OUT CMD...`: runs CMD in namespace NS and writes its user+sys CPU seconds and peak
# RSS (kB) to OUT; CMD's exit status is passed on. The CPU time is the rusage wait4 returns
# (microseconds; /usr/bin/time prints hundredths, too coarse for the 10-50 ms a slow-link test
# costs). The peak RSS is /usr/bin/time's: a process's peak is inherited across exec, so a
# Python parent's own 10 MB would hide the agent's, where /usr/bin/time's is about 2 MB. The
# CPU figure includes /usr/bin/time's and the fork's, well under a millisecond.
measured() {
    local ns=$1 out=$2; shift 2
    nsx "$ns" python3 -c '
import os, sys
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv("/usr/bin/time", ["/usr/bin/time", "-f", "%M", "-o", out + ".rss"] + sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
rss_kb = open(out + ".rss").read().split()[-1]
with open(out, "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.6f} {rss_kb}\n")
sys.exit(os.waitstatus_to_exitcode(status))' "$out" "$@"
}
cpu_s() { cut -d' ' -f1 "$1"; }
rss_kb() { cut -d' ' -f2 "$1"; }

echo "| link Mbit/s | protocol | agent Mbit/s | iperf3 Mbit/s | agent ÷ iperf3 | bytes ÷ fixed 10 s | CPU s/GB agent ÷ curl | peak RSS MB | streams | duration s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for rate in $RATES; do
    nsx $R tc qdisc replace dev brp$$ root tbf rate "${rate}mbit" burst 32kb latency 100ms
    iperf_streams=$(( rate >= 500 ? 8 : 4 ))
    nsx $P iperf3 -c 198.19.200.1 -R -P "$iperf_streams" -t 10 -O 1 --bind-dev wwan0 -J >"$WORK/iperf3.json"
    ip_mbps=$(json "$WORK/iperf3.json" "d['end']['sum_received']['bits_per_second']/1e6")
    ip_bytes=$(json "$WORK/iperf3.json" "d['end']['sum_received']['bytes']")
    for proto in http quic; do
        measured $P "$WORK/agent.time" "$BIN/fathom-agent" speedtest --server "$URL" \
            --interface wwan0 --protocol "$proto" --ca "$WORK/speed-cert.pem" --max-bytes "$MAX_BYTES" --json >"$WORK/agent.json" || true
        if [ -n "${BENCH_KEEP:-}" ]; then
            mkdir -p "$BENCH_KEEP" && cp "$WORK/agent.json" "$BENCH_KEEP/agent-$rate-$proto.json"
        fi
        mbps=$(json "$WORK/agent.json" "d['download_mbps']")
        bytes=$(json "$WORK/agent.json" "d['bytes_downloaded']")
        cpu_gb=$(python3 -c "print($(cpu_s "$WORK/agent.time") / ($bytes / 1e9))")
        # curl downloads as many bytes on the same link.
        measured $P "$WORK/curl.time" curl -s -o /dev/null --interface wwan0 \
            -w '%{size_download}\n' "$URL/api/v1/download?bytes=$bytes" >"$WORK/curl.out"
        curl_cpu_gb=$(python3 -c "print($(cpu_s "$WORK/curl.time") / ($(cat "$WORK/curl.out") / 1e9))")
        python3 - "$rate" "$proto" "$mbps" "$ip_mbps" "$bytes" "$ip_bytes" "$cpu_gb" "$curl_cpu_gb" \
            "$(rss_kb "$WORK/agent.time")" "$(json "$WORK/agent.json" "d['streams']")" \
            "$(json "$WORK/agent.json" "d['duration_ms']")" <<'EOF'
import sys
rate, proto, mbps, ip, b, ipb, cpu, ccpu, rss, streams, ms = sys.argv[1:]
mbps, ip, b, ipb, cpu, ccpu = map(float, (mbps, ip, b, ipb, cpu, ccpu))
print(f"| {rate} | {proto} | {mbps:.1f} | {ip:.1f} | {mbps/ip:.3f} | {b/ipb:.2f} | "
      f"{cpu:.2f} ÷ {ccpu:.2f} = {cpu/ccpu:.2f} | {int(rss)/1024:.1f} | {streams} | {int(ms)/1000:.1f} |")
EOF
    done
done
