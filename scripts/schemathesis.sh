#!/usr/bin/env bash
# Fuzzes a served collector with schemathesis (a third-party OpenAPI fuzzer) from the description
# it serves, so that shared/openapi.json and the server agree: no 5xx, every status and answer as
# described, and nothing the schema forbids accepted (negative_data_rejection, which found a
# negative `budget_bytes` accepted). Bounded: EXAMPLES test cases per operation (default 100) and
# a fixed seed, on loopback, against a fresh SQLite database in a temporary folder.
#
#   ./scripts/schemathesis.sh [EXAMPLES]
#
# Installs schemathesis from PyPI into a virtualenv under target/ on first use. Schema-valid
# requests the server still refuses (positive_data_acceptance: rules between fields that JSON
# Schema cannot say, such as a completed speed test's duration above 0) are not checked yet.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
venv="$PWD/target/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi
cargo build --locked --bin fathom-collector
collector="${CARGO_TARGET_DIR:-$PWD/target}/debug/fathom-collector"
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# The example config, with limits that let the fuzzer's requests through rather than 429 them.
{
    cat collector/collector.example.toml
    printf '\n[limits]\nuploads_per_second = 10000.0\nupload_burst = 10000\nfailed_per_second = 10000.0\nfailed_burst = 10000\n'
} > "$work/collector.toml"
db="sqlite://$work/fathom.db"
token="$("$collector" --config "$work/collector.toml" --db "$db" probe add --id yy-hosp-01 --site county-hospital)"
"$collector" --config "$work/collector.toml" --db "$db" serve --listen 127.0.0.1:0 \
    > "$work/serve.out" 2> "$work/serve.log" &
pid=$!
url=""
for _ in $(seq 100); do
    url="$(grep -o 'http://[0-9.:]*' "$work/serve.out" || true)"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "the collector did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
# 413 is a rejection too: an upload over 1000 results or 2 MiB is answered 413, so that the
# agent halves its batch.
cat > "$work/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5XX"]
TOML
# From the temporary folder, where schemathesis leaves its cache.
cd "$work"
"$venv/bin/st" --config-file "$work/schemathesis.toml" run "$url/api/v1/openapi.json" \
    -H "Authorization: Bearer $token" \
    --max-examples "$examples" --seed "${SCHEMATHESIS_SEED:-16}" --workers 1 \
    --include-path-regex '^/api/v1/(results|enroll|health|fleet)$' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection
