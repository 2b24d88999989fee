#!/usr/bin/env bash
# Instructions per 1000-contact batch, ours against the serde_json floor, for each bench mix,
# counted by callgrind: the same figures on every run, however busy the machine is.
# The setup (reading the corpus, building the body) is cancelled out by running each side
# with 1 and with 11 repetitions and taking the difference.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example pipeline_profile >/dev/null 2>&1
bin="${CARGO_TARGET_DIR:-target}/release/examples/pipeline_profile"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 | awk '/Collected/ {print $4}'; }
printf '| mix | ours (instructions/batch) | floor (instructions/batch) | ours ÷ floor |\n|---|---:|---:|---:|\n'
for mix in us mixed garbage worst; do
  o1=$(count "$mix" ours 1); o11=$(count "$mix" ours 11)
  f1=$(count "$mix" floor 1); f11=$(count "$mix" floor 11)
  python3 -c "o=($o11-$o1)/10; f=($f11-$f1)/10; print(f'| $mix | {o:,.0f} | {f:,.0f} | {o/f:.2f} |')"
done
