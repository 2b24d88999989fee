#!/usr/bin/env bash
# The first call of the phone module in a process, cold, in instructions (callgrind), for the
# numbers that reach the most of it: one process a case (examples/e164_cold.rs), only the call
# counted. Issue 23's goal: at most 50,000 instructions for any number.
#
#   tools/e164/cold.sh
#
# Prints one Markdown table: the case, the answer, the instructions. Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
cargo build --release --quiet --example e164_cold
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cases=(
    "validate|+14155550123"
    "validate|+442079460000"
    "validate|+5491123456789"
    "validate|+541123456789"
    "validate|+5521987654321"
    "validate|+819012345678"
    "validate|+2410111234567"
    "validate|+6723212345"
    "normalize|US|(415) 555-9876"
    "normalize|AR|011 15 2345-6789"
    "normalize|AR|0351 15-412-3456"
    "normalize|BR|0 15 21 2345-6789"
    "normalize|AG|463-1234"
    "normalize|JP|0003 123 4567"
    "normalize|US|650 253 0000 ext. 12"
    "normalize|US|650 253 0000 EXTENSİON 12"
    "normalize|US|1-800-FLOWıRS"
    "normalize|ZZ|tel:415-555-9876;phone-context=+1"
    "normalize|ZZ|tel:0123;phone-context=example.com"
    "normalize|ZZ|+１ ４１５ ５５５ ９８７６"
    "normalize|IN|०९८७६ ५४३२१०"
    "normalize|US|Call me at +1 415 555 9876 thanks"
)
echo "| call | answer | instructions |"
echo "|---|---|---:|"
for case in "${cases[@]}"; do
    IFS='|' read -r -a f <<<"$case"
    valgrind --tool=callgrind --callgrind-out-file="$work/out" \
        --toggle-collect='e164_cold::measured*' \
        "$target/release/examples/e164_cold" "${f[@]}" >"$work/answer" 2>"$work/err"
    ir=$(grep -oE 'Collected : [0-9]+' "$work/err" | grep -oE '[0-9]+')
    printf '| `%s` | `%s` | %s |\n' "${f[*]:0}" "$(cat "$work/answer")" "$(printf "%'d" "$ir")"
done
