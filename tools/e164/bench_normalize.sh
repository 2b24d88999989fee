#!/usr/bin/env bash
# Normalization per input, in one run, on the same inputs and the same machine, back to back:
# ours (`e164::normalize`), `rlibphonenumber` (`PhoneNumber::parse` + `is_valid` + E.164) and
# Python's `phonenumbers` (`parse` + `is_valid_number` + `format_number(E164)`), on the 2,000
# `(region, text)` inputs that benches/normalize.rs takes from the differential corpus.
#
#   tools/e164/bench_normalize.sh [--write]
#
# 1. ours and rlibphonenumber: `cargo bench --bench normalize` (criterion, short: 1 s warm-up,
#    3 s measurement), median per input;
# 2. phonenumbers at the crate's metadata version (tools/e164/requirements.txt), in a virtual
#    environment of its own, target/e164-venv-VERSION (reused when it exists; what
#    tools/e164/update.sh creates): tools/e164/bench_normalize.py, median of 7 rounds;
# 3. CPU time per input (user + system of the process, which leaves out the time spent waiting
#    for a core on a loaded machine), ours and rlibphonenumber: benches/examples/normalize_profile.rs
#    --seconds 5 on the same inputs (release profile), phonenumbers: time.process_time in
#    step 2;
# 4. instructions per input, ours and rlibphonenumber, counted by callgrind over
#    benches/examples/normalize_profile.rs (the same inputs; the warm-up pass is not counted): the
#    figure that does not move with the machine's load, which on a shared machine is most of
#    the wall-clock figures' noise. (phonenumbers is not run under callgrind: an interpreter's
#    instructions are not comparable, and it would take minutes.)
#
# Prints one Markdown table (ns per input, ratios, instructions per input) with the machine's
# load average before and after. `--write` also writes the figures to
# benches/charts/normalize.tsv and renders benches/charts/normalize.svg from them
# (benches/examples/normalize_chart.rs). Needs python3 (with venv; PyPI access the first time) and
# valgrind.
set -euo pipefail

write=0
case "${1:-}" in
    "") ;;
    --write) write=1 ;;
    *)
        echo "usage: tools/e164/bench_normalize.sh [--write]" >&2
        exit 2
        ;;
esac
cd "$(dirname "$0")/../.."
# The benches are their own package (benches/Cargo.toml); its cargo commands run in benches/
# and build into this target directory (absolute, so that it is the same from there).
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
export CARGO_TARGET_DIR="$target"
requirement=$(grep -E '^phonenumbers==' tools/e164/requirements.txt)
version=${requirement#phonenumbers==}
venv="$target/e164-venv-$version"
repeat=10
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== $requirement into $venv"
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"

echo "== build (bench profile, and the callgrind example)"
(cd benches && cargo bench --bench normalize --no-run 2>&1 | tail -n 1)
(cd benches && cargo build --release --quiet --example normalize_profile)
command -v valgrind >/dev/null || { echo "valgrind is needed for the instruction counts" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "== criterion: ours and rlibphonenumber"
(cd benches && cargo bench --bench normalize -- --warm-up-time 1 --measurement-time 3 2>&1) \
    | grep -E 'start-up|inputs:|normalize_mixed/|time:' || true

echo "== phonenumbers $version"
"$venv/bin/python" tools/e164/bench_normalize.py | tee "$work/python.txt"

echo "== CPU time (benches/examples/normalize_profile.rs --seconds 5)"
for subject in ours rlibphonenumber; do
    "$target/release/examples/normalize_profile" --subject "$subject" --seconds 5 \
        | tee "$work/$subject.cpu"
done

echo "== callgrind"
for subject in ours rlibphonenumber; do
    valgrind --tool=callgrind --callgrind-out-file="$work/$subject.out" \
        --toggle-collect='normalize_profile::measured*' \
        "$target/release/examples/normalize_profile" --subject "$subject" --repeat "$repeat" \
        >"$work/$subject.txt" 2>"$work/$subject.err"
    cat "$work/$subject.txt"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$target/criterion" "$work" "$write" "$load_before" "$load_after" "$started" "$version" <<'EOF'
import json
import re
import sys
from pathlib import Path

criterion, work, write, load_before, load_after, started, version = sys.argv[1:]
work = Path(work)
N = 2000  # inputs per criterion iteration (benches/normalize.rs)


def criterion_ns(subject):
    path = Path(criterion) / "normalize_mixed" / subject / "mixed" / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] / N


def instructions(subject):
    err = (work / f"{subject}.err").read_text()
    collected = int(re.search(r"Collected : (\d+)", err).group(1))
    calls = int(re.search(r"calls (\d+)", (work / f"{subject}.txt").read_text()).group(1))
    return collected / calls


def cpu_ns(subject):
    text = (work / f"{subject}.cpu").read_text()
    return float(re.search(r"cpu_ns_per_input ([\d.]+)", text).group(1))


python = (work / "python.txt").read_text()
python_ns = float(re.search(r"median_ns_per_input ([\d.]+)", python).group(1))
python_cpu = float(re.search(r"median_cpu_ns_per_input ([\d.]+)", python).group(1))
rows = [
    ("ours", "ours (`e164::normalize`)", criterion_ns("ours"), cpu_ns("ours"), instructions("ours")),
    ("rlibphonenumber", "`rlibphonenumber` 2.2.15", criterion_ns("rlibphonenumber"), cpu_ns("rlibphonenumber"), instructions("rlibphonenumber")),
    ("phonenumbers", f"Python `phonenumbers` {version}", python_ns, python_cpu, None),
]


def fmt_ns(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


ours = rows[0]


def ratio(value, reference):
    if value is None:
        return "—"
    return "1×" if value == reference else f"{value / reference:.1f}×"


print()
print(f"{started}, load average {load_before} before, {load_after} after; {N} inputs")
print()
print("| implementation | wall-clock per input (median) | ÷ ours | CPU time per input | ÷ ours "
      "| instructions per input (callgrind) | ÷ ours |")
print("|---|---:|---:|---:|---:|---:|---:|")
for _, name, ns, cpu, ir in rows:
    ir_text = f"{ir:,.0f}" if ir is not None else "—"
    print(f"| {name} | {fmt_ns(ns)} | {ratio(ns, ours[2])} | {fmt_ns(cpu)} | {ratio(cpu, ours[3])} "
          f"| {ir_text} | {ratio(ir, ours[4])} |")
if write == "1":
    path = Path("benches/charts/normalize.tsv")
    lines = ["subject\tns_per_input\tcpu_ns_per_input\tinstructions_per_input"]
    for subject, _, ns, cpu, ir in rows:
        lines.append(f"{subject}\t{ns:.1f}\t{cpu:.1f}\t{'' if ir is None else f'{ir:.0f}'}")
    path.write_text("\n".join(lines) + "\n")
    print(f"\nwritten: {path}")
EOF

if [[ $write == 1 ]]; then
    (cd benches && cargo run --release --quiet --example normalize_chart)
fi
