#!/usr/bin/env bash
# `bulk-contacts check` on a generated 1,000,000-row JSON Lines file: rows per second and peak
# memory (RSS), for the whole check and for the CLI's own part alone (`--scan-only`: read and
# split the rows, apply no rule), with and without suggestions.
#
# The same contacts as one request body (`.json`, the readable lines as elements) are checked
# too, streamed by the element scanner.
#
# Issue 20's mix: the same generator with half the rows' phone numbers written nationally
# (`--national 0.5`), as JSON Lines and as CSV, checked with `--default-region US`. With
# BASELINE=PATH (an older build of the binary), each of those runs is measured for it too, in
# the same run, alternating; with valgrind, instructions per row on the first 100,000 rows.
#
# Usage: tools/cli/bench_check.sh [ROWS]   (default 1000000; the files are kept under target/bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-1000000}
file=target/bench/contacts-$rows.jsonl
body=target/bench/contacts-$rows.json

cargo build --release -p bulk-contacts-cli
bin=target/release/bulk-contacts
mixj=target/bench/mix-$rows.jsonl
mixc=target/bench/mix-$rows.csv
mkdir -p target/bench
if [ ! -s "$file" ] || [ tools/cli/gen_contacts.py -nt "$file" ]; then
    python3 tools/cli/gen_contacts.py --rows "$rows" "$file"
fi
if [ ! -s "$body" ] || [ "$file" -nt "$body" ]; then
    python3 - "$file" "$body" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as lines, open(sys.argv[2], "w", encoding="utf-8") as body:
    body.write('{"contacts": [\n')
    first = True
    for line in lines:
        line = line.strip()
        try:
            json.loads(line)
        except ValueError:
            continue  # blank and unreadable lines: a body must be valid JSON
        body.write(("" if first else ",\n") + line)
        first = False
    body.write("\n]}\n")
PY
fi
for out in "$mixj" "$mixc"; do
    if [ ! -s "$out" ] || [ tools/cli/gen_contacts.py -nt "$out" ]; then
        python3 tools/cli/gen_contacts.py --rows "$rows" --national 0.5 $([ "$out" = "$mixc" ] && echo --csv) "$out"
    fi
done
echo "file: $file ($(wc -c <"$file") bytes, $rows lines); load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# Runs the binary ($bin), report to /dev/null; prints the summary's first line and the peak RSS.
measure() {
    local label=$1
    shift
    local err
    err=$(mktemp)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$bin" "$@" >/dev/null 2>"$err" || true
        local rss user sys rows
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$err")
        user=$(sed -n 's/.*User time (seconds): //p' "$err")
        sys=$(sed -n 's/.*System time (seconds): //p' "$err")
        rows=$(head -n1 "$err" | cut -d' ' -f1)
        printf '%-28s %s; CPU %.2f s = %.0f rows per CPU-second; peak RSS %.1f MB\n' "$label" \
            "$(head -n1 "$err")" "$(awk "BEGIN {print $user + $sys}")" \
            "$(awk "BEGIN {print $rows / ($user + $sys + 0.001)}")" "$(awk "BEGIN {print $rss / 1024}")"
    else
        python3 - "$bin" "$@" >"$err.py" <<'PY' || true
import resource, subprocess, sys
with open("/dev/null", "wb") as null:
    done = subprocess.run(sys.argv[1:], stdout=null, stderr=subprocess.PIPE)
print(done.stderr.decode().splitlines()[0])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
        printf '%-28s %s; peak RSS %.1f MB\n' "$label" "$(head -n1 "$err.py")" "$(awk "BEGIN {print $(tail -n1 "$err.py") / 1024}")"
        rm -f "$err.py"
    fi
    rm -f "$err"
}

now=2025-06-01T00:00:00Z
measure "scan only (CLI overhead)" check "$file" --now "$now" --scan-only
measure "check" check "$file" --now "$now"
measure "check --default-region US" check "$file" --now "$now" --default-region US
measure ".json scan only" check "$body" --now "$now" --scan-only
measure ".json check" check "$body" --now "$now"

echo "issue 20's mix (half the numbers national), --default-region US:"
for round in 1 2; do
    for input in "$mixj" "$mixc"; do
        kind=${input##*.}
        if [ -n "${BASELINE:-}" ]; then
            (bin=$BASELINE; measure "before $kind (round $round)" check "$input" --now "$now" --default-region US)
        fi
        measure "after $kind (round $round)" check "$input" --now "$now" --default-region US
    done
done
measure "CSV scan only (CLI overhead)" check "$mixc" --now "$now" --scan-only
if command -v valgrind >/dev/null; then
    head -n 100000 "$mixj" >target/bench/mix-100k.jsonl
    head -n 100001 "$mixc" >target/bench/mix-100k.csv
    for input in target/bench/mix-100k.jsonl target/bench/mix-100k.csv; do
        for subject in ${BASELINE:+before} after; do
            b=$bin
            [ "$subject" = before ] && b=$BASELINE
            refs=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" check "$input" --now "$now" \
                --default-region US 2>&1 >/dev/null | sed -n 's/.*refs: *//p' | tr -d , || true)
            printf '%-28s %s instructions per row (callgrind, 100,000 rows)\n' "$subject ${input##*.}" \
                "$(awk "BEGIN {printf \"%.0f\", $refs / 100000}")"
        done
    done
fi
