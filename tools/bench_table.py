#!/usr/bin/env python3
"""Prints the medians of the last criterion run of the pipeline bench, with the ratios.

usage: tools/bench_table.py [CRITERION_DIR] [--tsv FILE]   (default: target/criterion)

--tsv FILE also writes the 1000-contact medians (mix, subject, nanoseconds) for
benches/examples/bench_charts.rs.
"""
import json
import sys
from pathlib import Path

args = sys.argv[1:]
tsv = None
if "--tsv" in args:
    i = args.index("--tsv")
    tsv = args[i + 1]
    del args[i : i + 2]
root = Path(args[0] if args else "target/criterion")

# (criterion id, column title); the reference is the second.
SUBJECTS = [
    ("ours", "ours"),
    ("serde_json_value", "serde_json `Value` (reference)"),
    ("sonic_rs_value", "sonic-rs `Value`"),
    ("raw_value_split", "`RawValue` split"),
    ("memchr_quotes", "memchr pass"),
    ("informed_typed_rlib", "informed: typed serde + rlibphonenumber"),
    ("naive_phonenumber", "naive (phonenumber)"),
]


def median(group: str, bench: str, size: str) -> float | None:
    path = root / group / bench / size / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]  # nanoseconds


def fmt(ns: float | None) -> str:
    if ns is None:
        return ""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


print("| mix | contacts | " + " | ".join(t for _, t in SUBJECTS) + " | ours ÷ serde_json `Value` | ours contacts/s |")
print("|---|---:|" + "---:|" * (len(SUBJECTS) + 2))
rows = []
for mix in ("us", "mixed", "garbage", "worst"):
    group = f"pipeline_{mix}"
    for n in ("1", "10", "100", "1000"):
        medians = {s: median(group, s, n) for s, _ in SUBJECTS}
        ours = medians["ours"]
        if ours is None:
            continue
        reference = medians["serde_json_value"]
        row = [mix, n] + [fmt(medians[s]) for s, _ in SUBJECTS]
        row.append(f"{ours / reference:.2f}" if reference else "")
        row.append(f"{int(n) / ours * 1e9:,.0f}")
        print("| " + " | ".join(row) + " |")
        if n == "1000":
            rows += [(mix, s, v) for s, v in medians.items() if v is not None]

one = median("threads_two_batches_of_1000", "one_thread", "")
two = median("threads_two_batches_of_1000", "two_threads", "")
if one and two:
    print(f"\nTwo batches of 1000: one thread {fmt(one)}, two threads {fmt(two)}: speed-up {one / two:.2f}×")

if tsv:
    with open(tsv, "w") as f:
        f.write("mix\tsubject\tmedian_ns\n")
        for mix, subject, ns in rows:
            f.write(f"{mix}\t{subject}\t{ns:.0f}\n")
    print(f"\nwritten: {tsv}")
