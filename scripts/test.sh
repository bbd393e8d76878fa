#!/usr/bin/env bash
# Fathom's whole gate, the same locally and in CI: installs what the tests need when it is missing,
# then rustfmt, clippy (-D warnings), the I/O-free guard on fathom-shared, every test, and the docs.
#
#   ./scripts/test.sh
#
# Environment:
#   FATHOM_REQUIRE_NETLAB=1   lab tests (network namespaces, root, iperf3) must run: a skip is a
#                             failure. CI sets it.
#   FATHOM_REQUIRE_CHROMIUM=1 the dashboard test in headless Chromium must run. CI sets it.
#   FATHOM_FUZZ_SECONDS=N     how long each cargo-fuzz target runs (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# --- What the tests need ----------------------------------------------------------------------
# A C compiler (SQLite is compiled in through libsqlite3-sys); for the network lab iproute2 and
# iperf3 (the reference the speed engine is judged against); Chromium for the dashboard test;
# python3 to hold a database lock from another process; systemd-analyze to check the units.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v kill >/dev/null 2>&1 || missing+=(procps)
command -v iperf3 >/dev/null 2>&1 || missing+=(iperf3)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing: ${missing[*]} (run as root to install them with apt-get)" >&2
    exit 1
  fi
fi

if [ "${FATHOM_REQUIRE_NETLAB:-0}" = 1 ]; then
  step "checking the network lab's prerequisites (FATHOM_REQUIRE_NETLAB=1)"
  [ "$(id -u)" = 0 ] || { echo "the network lab needs root" >&2; exit 1; }
  ip netns add fathom-check-$$ && ip netns del fathom-check-$$ || {
    echo "cannot create network namespaces" >&2; exit 1; }
  [ -c /dev/net/tun ] || { echo "/dev/net/tun is missing (the lab's delay line needs TUN)" >&2; exit 1; }
fi

# --- The gate ---------------------------------------------------------------------------------
step "rustfmt"
cargo fmt --all --check

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "fathom-shared and fathom-radio-parse stay free of I/O"
for crate in fathom-shared fathom-radio-parse; do
  if cargo tree -p "$crate" -e normal --locked | grep -Eq '^.*\b(tokio|sqlx|reqwest|hyper|axum)\b'; then
    echo "$crate depends on an I/O crate:" >&2
    cargo tree -p "$crate" -e normal --locked | grep -E '\b(tokio|sqlx|reqwest|hyper|axum)\b' >&2
    exit 1
  fi
done

step "build (the end-to-end tests start these binaries)"
cargo build --workspace --bins --locked

# Tests that judge a measurement against a reference (the speed engine against iperf3 on the lab's
# shaped links) run apart and one at a time: on two cores, a parallel test's CPU burst delays the
# delay line and the readers and shows up as a made-up burst in the very rate being judged.
QUIET_TESTS=(speed_lab:: netlab::speedtest_)
skip_quiet=()
for t in "${QUIET_TESTS[@]}"; do skip_quiet+=(--skip "$t"); done

step "tests"
cargo test --workspace --locked -- "${skip_quiet[@]}"

step "measurement tests, one at a time on a quiet machine"
cargo test -p fathom-e2e --test e2e --locked -- --test-threads=1 "${QUIET_TESTS[@]}"

step "docs (-D warnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --document-private-items --locked

step "fuzzing (bounded: ${FATHOM_FUZZ_SECONDS:-20} s per target)"
./scripts/fuzz.sh "${FATHOM_FUZZ_SECONDS:-20}"

printf '\nAll checks passed.\n'
