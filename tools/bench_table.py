#!/usr/bin/env python3
"""Prints the medians of the last criterion run of the pipeline bench, with the ratios.

usage: tools/bench_table.py [CRITERION_DIR]   (default: target/criterion)
"""
import json
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median(group: str, bench: str, size: str) -> float | None:
    path = root / group / bench / size / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]  # nanoseconds


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


print("| mix | contacts | ours | floor (serde_json Value) | ours ÷ floor | naive (phonenumber) | naive ÷ ours | ours contacts/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for mix in ("us", "mixed", "garbage", "worst"):
    group = f"pipeline_{mix}"
    for n in ("1", "10", "100", "1000"):
        ours = median(group, "ours", n)
        floor = median(group, "floor_serde_json_value", n)
        naive = median(group, "naive_phonenumber", n)
        if ours is None:
            continue
        row = [mix, n, fmt(ours)]
        row += [fmt(floor), f"{ours / floor:.2f}"] if floor else ["", ""]
        row += [fmt(naive), f"{naive / ours:.0f}×"] if naive else ["", ""]
        row.append(f"{int(n) / ours * 1e9:,.0f}")
        print("| " + " | ".join(row) + " |")

one = median("threads_two_batches_of_1000", "one_thread", "")
two = median("threads_two_batches_of_1000", "two_threads", "")
if one and two:
    print(f"\nTwo batches of 1000: one thread {fmt(one)}, two threads {fmt(two)}: speed-up {one / two:.2f}×")
