#!/usr/bin/env bash
# Builds fathom-agent for the Raspberry Pi probes on this x86-64 machine, checks the binary, runs it
# under qemu-user when available, and packages it as a .deb when cargo-deb is installed.
#
#   ./scripts/cross-build.sh            # aarch64-unknown-linux-gnu (Raspberry Pi OS 64-bit)
#   ./scripts/cross-build.sh --armv7    # also armv7-unknown-linux-gnueabihf (32-bit)
#
# Installs (as root, with apt-get) the cross linkers and qemu-user when missing, and the Rust
# targets with rustup. Prints per target: file(1)'s verdict, the binary's size, and under qemu the
# agent's --version and peak RSS of `fathom-agent modem` on a simulated modem.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-unknown-linux-gnu)
[ "${1:-}" = --armv7 ] && targets+=(armv7-unknown-linux-gnueabihf)

need=()
for t in "${targets[@]}"; do
  case "$t" in
    aarch64-*) command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
    armv7-*) command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
  esac
done
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing: ${need[*]} (run as root to install them with apt-get)" >&2; exit 1
  fi
fi

sim=$(mktemp)
trap 'rm -f "$sim"' EXIT
cat >"$sim" <<'TOML'
[[modem]]
carrier = "cmcc"
[[modem.state]]
rat = "nr_sa"
rsrp_dbm = -88.0
rsrq_db = -10.0
sinr_db = 15.0
TOML

for t in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
  case "$t" in
    aarch64-*) cc=aarch64-linux-gnu-gcc; qemu=qemu-aarch64; sysroot=/usr/aarch64-linux-gnu; want="ARM aarch64" ;;
    armv7-*) cc=arm-linux-gnueabihf-gcc; qemu=qemu-arm; sysroot=/usr/arm-linux-gnueabihf; want="ARM, EABI5" ;;
  esac
  upper=$(echo "$t" | tr 'a-z-' 'A-Z_')
  echo "==> building fathom-agent for $t"
  env "CARGO_TARGET_${upper}_LINKER=$cc" "CC_${t//-/_}=$cc" \
    cargo build --release --locked -p fathom-agent --target "$t"
  bin="target/$t/release/fathom-agent"
  verdict=$(file -b "$bin")
  echo "file: $verdict"
  case "$verdict" in *"$want"*) ;; *) echo "not a $want binary" >&2; exit 1 ;; esac
  echo "size: $(stat -c %s "$bin") bytes (with line tables)"
  strip_tool=${cc%gcc}strip
  if command -v "$strip_tool" >/dev/null; then
    "$strip_tool" -o "$bin.stripped" "$bin"
    echo "stripped size (as packaged): $(stat -c %s "$bin.stripped") bytes"
  fi
  if command -v "$qemu" >/dev/null; then
    echo "qemu: $(QEMU_LD_PREFIX=$sysroot "$qemu" "$bin" --version)"
    rss=$( { QEMU_LD_PREFIX=$sysroot /usr/bin/time -f '%M' "$qemu" "$bin" modem --backend "sim:$sim" --json >/dev/null; } 2>&1 | tail -1)
    echo "peak RSS of \`fathom-agent modem\` under $qemu (emulator included): ${rss} KiB"
  fi
  if cargo deb --version >/dev/null 2>&1; then
    echo "==> packaging fathom-agent for $t"
    cargo deb -p fathom-agent --target "$t" --no-build --strip
    deb=$(ls -t target/"$t"/debian/fathom-agent_*.deb target/debian/fathom-agent_*_arm*.deb 2>/dev/null | head -1)
    dpkg-deb --info "$deb" | grep -E 'Package|Architecture|Depends'
    dpkg-deb --contents "$deb" | awk '{print $NF}'
  fi
done
