#!/usr/bin/env bash
# Fathom's whole gate, the same locally and in CI: installs what the tests need when it is missing,
# then rustfmt, clippy (-D warnings), the I/O-free guard on fathom-shared, every test, and the docs.
#
#   ./scripts/test.sh
#
# Environment:
#   FATHOM_REQUIRE_NETLAB=1   lab tests (network namespaces, root, iperf3, tmux) must run: a skip is a
#                             failure. CI sets it.
#   FATHOM_REQUIRE_CHROMIUM=1 the dashboard test in headless Chromium must run. CI sets it.
#   FATHOM_FUZZ_SECONDS=N     how long each cargo-fuzz target runs (default 20).
#   FATHOM_SCHEMATHESIS_EXAMPLES=N  schemathesis cases per API operation (default 100).
#   FATHOM_REQUIRE_POSTGRES=1 the PostgreSQL runs of the store tests must run: a skip is a
#                             failure. CI sets it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# --- What the tests need ----------------------------------------------------------------------
# A C compiler (SQLite is compiled in through libsqlite3-sys); for the network lab iproute2 and
# iperf3 (the reference the speed engine is judged against); Chromium for the dashboard test;
# poppler-utils to read the report's PDF back; python3 to hold a database lock from another
# process; systemd-analyze to check the units; promtool, below, for the Prometheus rules.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v kill >/dev/null 2>&1 || missing+=(procps)
command -v iperf3 >/dev/null 2>&1 || missing+=(iperf3)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# tmux drives `fathom-agent survey` in a real 80x24 terminal (lab::survey).
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# poppler-utils renders the report's PDF back to text and images (contract::downloads).
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# A virtualenv for schemathesis (scripts/schemathesis.sh installs it from PyPI).
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
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

# promtool (Debian package prometheus, without the recommended node exporter) for the
# Prometheus rules and /metrics checks (ops::prometheus); under FATHOM_REQUIRE_NETLAB=1 a missing
# promtool is a failure there.
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing promtool (Debian package prometheus)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
    command -v promtool >/dev/null 2>&1 || { echo "the prometheus package installed no promtool" >&2; exit 1; }
  else
    echo "no promtool: the Prometheus rules checks skip (run as root to install it with apt-get)" >&2
  fi
fi

# cargo-deb for the .deb install test (packaging::deb), built once from crates.io without its
# default xz feature (a C library to compile): about 1.5 min the first time, nothing after.
# Pinned: the test packages a debug build with --profile dev, which later versions may refuse.
if ! cargo deb --version >/dev/null 2>&1; then
  step "installing cargo-deb"
  cargo install cargo-deb --version 3.8.0 --locked --no-default-features
fi

# PostgreSQL on 127.0.0.1:5432, user postgres with trust authentication on loopback: the store
# tests run on it as well as on SQLite. A server that already answers is used as it is.
pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}
if ! pg_answers; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing and starting PostgreSQL"
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    pg_version=$(ls /etc/postgresql | sort -V | tail -1)
    if [ -z "$pg_version" ]; then
      pg_version=$(ls /usr/lib/postgresql | sort -V | tail -1)
      pg_createcluster "$pg_version" main
    fi
    hba=/etc/postgresql/$pg_version/main/pg_hba.conf
    # Trust for postgres on loopback only, ahead of the packaged rules (the first match wins).
    if ! grep -q '^# fathom tests' "$hba"; then
      { echo '# fathom tests: postgres on loopback without a password'
        echo 'host all postgres 127.0.0.1/32 trust'
        echo 'host all postgres ::1/128 trust'
        cat "$hba"; } >"$hba.new"
      chown --reference="$hba" "$hba.new" && chmod --reference="$hba" "$hba.new"
      mv "$hba.new" "$hba"
    fi
    pg_ctlcluster "$pg_version" main start 2>/dev/null || pg_ctlcluster "$pg_version" main reload
    for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
    pg_answers || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
  elif [ "${FATHOM_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "FATHOM_REQUIRE_POSTGRES=1 but nothing answers on 127.0.0.1:5432 (run as root to install it)" >&2
    exit 1
  else
    echo "no PostgreSQL on 127.0.0.1:5432: the store tests run on SQLite only" >&2
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
# `speed_lab::` includes the trace-driven short run (`speed_lab::trace_driven_link_…`: three
# moments of a replayed LTE trace, iperf3 against HTTP and QUIC, about 100 s on the debug build),
# which reads the traces from ../shared/traces/mahimahi (or FATHOM_TRACES); under
# FATHOM_REQUIRE_NETLAB=1 a missing trace is a failure.
# `pipeline::an_upload_` sends at loopback's full rate for seconds: run apart, it cannot slow the
# rate-judging tests beside it (`one_testserver_serves_many_probes_at_once`).
QUIET_TESTS=(speed_lab:: netlab::speedtest_ pipeline::an_upload_)
skip_quiet=()
for t in "${QUIET_TESTS[@]}"; do skip_quiet+=(--skip "$t"); done

# Every `cargo test` run goes through `tested`, which keeps its output in one log: the gate ends
# with a single closing line adding up what they ran ("tests: N passed, N failed"). Without it the
# last summary printed would be schemathesis' pytest-style line, which counts no Rust test.
test_log="$(mktemp -t fathom-tests.XXXXXX)"
trap 'rm -f "$test_log"' EXIT
tested() { "$@" 2>&1 | tee -a "$test_log"; }

step "tests"
tested cargo test --workspace --locked -- "${skip_quiet[@]}"

# `--workspace --test e2e`, not `-p fathom-e2e`: features are unified over the packages a command
# selects, so `-p` alone would build the dependencies a second time with other features.
step "measurement tests, one at a time on a quiet machine"
tested cargo test --workspace --test e2e --locked -- --test-threads=1 "${QUIET_TESTS[@]}"

# The end-to-end tests that exercise the store, again with every collector on PostgreSQL.
if pg_answers; then
  step "end-to-end store tests on PostgreSQL (FATHOM_TEST_DB=postgres)"
  for t in pipeline outage kill9 collector_kill credentials accounts province bad_uploads postgres maintenance ingest_load survey; do
    FATHOM_TEST_DB=postgres tested cargo test --workspace --test e2e --locked "$t::"
  done
fi

step "docs (-D warnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --document-private-items --locked

step "fuzzing (bounded: ${FATHOM_FUZZ_SECONDS:-20} s per target)"
./scripts/fuzz.sh "${FATHOM_FUZZ_SECONDS:-20}"

step "OpenAPI description against the server (schemathesis, ${FATHOM_SCHEMATHESIS_EXAMPLES:-100} cases per operation)"
./scripts/schemathesis.sh "${FATHOM_SCHEMATHESIS_EXAMPLES:-100}"

# Sums the "test result: ok. N passed; M failed; …" lines of every cargo test run above.
awk '/^test result: /{ for (i = 1; i <= NF; i++) { if ($i ~ /^passed;/) p += $(i-1); if ($i ~ /^failed;/) f += $(i-1) } }
     END { printf "\nAll checks passed.\ntests: %d passed, %d failed\n", p, f }' "$test_log"
