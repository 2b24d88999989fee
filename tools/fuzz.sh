#!/usr/bin/env bash
# Fuzzes the targets of fuzz/ one after another with cargo-fuzz (libFuzzer, no sanitizer,
# works on stable), then minimizes each corpus in place.
#
#   tools/fuzz.sh [TARGET|all] [SECONDS]      default: all targets, 600 s each
#
# Needs `cargo install cargo-fuzz --locked`. New corpus entries land in fuzz/corpus/TARGET,
# crash inputs in fuzz/artifacts/TARGET (not committed: copy a crash you keep to
# fuzz/regressions/TARGET, which CI replays). The log of each run is fuzz/logs/TARGET.log
# (not committed); its last `#N ... cov: ... ft: ... corp: ...` line and the final stats are
# the figures fuzz/README.md records. Afterwards inputs over KEEP_MAX bytes (default 8192) are
# dropped, so that the committed corpus stays small (the large-batch behaviours are pinned by
# tests/robustness.rs and the conformance cases), and the corpus is minimized with
# `cargo fuzz cmin`. Set NO_CMIN=1 to skip both.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(request structured precheck reader e164 merge)
which=${1:-all}
seconds=${2:-600}
if [[ $which == all ]]; then targets=("${all[@]}"); else targets=("$which"); fi
unset CARGO_TARGET_DIR  # cargo-fuzz builds in fuzz/target

mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  case $target in
    e164) extra=(-max_len=128) ;;
    structured | reader | merge) extra=(-max_len=8192) ;;
    request | precheck) extra=() ;;  # max_len follows the largest seed (64 KiB)
    *) echo "unknown target: $target (known: ${all[*]})" >&2; exit 2 ;;
  esac
  echo "== $target: ${seconds}s" >&2
  cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    "${extra[@]}" 2>&1 | tee "fuzz/logs/$target.log" | { grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|^stat::|ERROR|panicked' >&2 || true; }
  if [[ -z ${NO_CMIN:-} ]]; then
    find "fuzz/corpus/$target" -type f -size +"${KEEP_MAX:-8192}"c -delete
    cargo fuzz cmin --sanitizer none "$target" "fuzz/corpus/$target" -- "${extra[@]}" \
      > "fuzz/logs/$target.cmin.log" 2>&1
    echo "$target: corpus $(find "fuzz/corpus/$target" -type f | wc -l) files," \
      "$(du -sb "fuzz/corpus/$target" | cut -f1) bytes after cmin" >&2
  fi
done
