#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and fails on the first crash.
#
#   ./scripts/fuzz.sh [SECONDS]      # seconds per target, default 30
#
# Installs the nightly toolchain and cargo-fuzz when they are missing (libFuzzer's coverage
# instrumentation needs nightly). Each target starts from seeds made of the parsers' test
# fixtures; a crash leaves its input under fuzz/artifacts/<target>/ — add it as a unit test of
# the parser when fixing it.
set -euo pipefail

seconds="${1:-30}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

fixtures="agent/tests/fixtures/modem"
corpus="fuzz/corpus"
mkdir -p "$corpus/wire_upload" "$corpus/at_answers" "$corpus/mmcli_json"
cp fuzz/seeds/wire_upload/*.json "$corpus/wire_upload/"
cp "$fixtures"/*.txt "$corpus/at_answers/"
cp "$fixtures"/*.json "$corpus/mmcli_json/"
# Real module answers (agent/radio-parse/tests/fixtures/real, with their sources) and radio edge cases.
cp fuzz/seeds/at_answers/* "$corpus/at_answers/"
cp fuzz/seeds/mmcli_json/* "$corpus/mmcli_json/"
# The generic reader takes two answers (AT+COPS?, AT+CESQ) cut at a NUL byte.
printf '%s\0%s' "$(cat "$fixtures/generic_cops_sa_ct.txt")" "$(cat "$fixtures/generic_cesq_lte.txt")" \
    >"$corpus/at_answers/generic_pair"
# modem_status takes the modem document and the signal document cut at a NUL byte.
for modem in "$fixtures"/mmcli_modem*.json; do
    n="$(basename "$modem" | sed -E 's/^mmcli_modem([0-9]+)_.*/\1/')"
    for signal in "$fixtures"/mmcli_signal"$n"_*.json; do
        printf '%s\0%s' "$(cat "$modem")" "$(cat "$signal")" >"$corpus/mmcli_json/pair_$n"
    done
done

for target in wire_upload at_answers mmcli_json; do
    echo "fuzz: $target for ${seconds}s"
    (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=16384 -print_final_stats=1)
done
echo "fuzz: no crash"
