#!/usr/bin/env python3
"""Instructions per 1000-contact batch, ours against the reference and every floor, for each
bench mix, counted by callgrind: the same figures on every run, however busy the machine is.

Builds `benches/examples/pipeline_profile.rs` (release profile) itself, then for each mix and subject
runs it under `valgrind --tool=callgrind --toggle-collect=pipeline_profile::measured*`: only
the REPEAT batches inside `measured` are counted (not the corpus reading, the body building or
the warm-up batch that builds per-process tables), and the count is divided by REPEAT.

usage: tools/callgrind_table.py [--repeat N] [--mixes us,mixed,...] [--tsv FILE]
                                [--top MIX]   (also: ours' top functions on MIX, inclusive)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIXES = ["us", "mixed", "garbage", "worst"]
# (name in pipeline_profile, column title); the first is ours, the second the reference.
SUBJECTS = [
    ("ours", "ours"),
    ("serde_json_value", "serde_json `Value` (reference)"),
    ("sonic_rs_value", "sonic-rs `Value`"),
    ("raw_value_split", "`RawValue` split"),
    ("memchr_quotes", "memchr pass"),
    ("informed_typed_rlib", "informed: typed serde + rlibphonenumber"),
]
TOGGLE = "pipeline_profile::measured*"


def build() -> Path:
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "pipeline_profile"],
        # The benches' own package; benches/.cargo/config.toml builds into the root's target
        # directory (CARGO_TARGET_DIR, when set, made absolute first).
        cwd=ROOT / "benches",
        env={**os.environ, "CARGO_TARGET_DIR": str(target_dir())},
        check=True,
    )
    return target_dir() / "release" / "examples" / "pipeline_profile"


def target_dir() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target


def callgrind(binary: Path, mix: str, subject: str, repeat: int, out: str = "/dev/null") -> int:
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--toggle-collect={TOGGLE}",
            f"--callgrind-out-file={out}",
            str(binary),
            mix,
            subject,
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if not found or int(found.group(1)) == 0:
        sys.exit(f"no instructions collected for {mix} {subject}:\n{run.stderr}")
    return int(found.group(1)) // repeat


# Frames above the measured function (the process, `main`, the loop), left out of --top.
ABOVE = ("(below main)", "__libc_start_main", "0x0", "pipeline_profile::main",
         "pipeline_profile::measured", "std::rt::lang_start", "__rust_begin_short_backtrace",
         "Subject::run")


def top(binary: Path, mix: str, repeat: int, count: int = 40) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        total = callgrind(binary, mix, "ours", repeat, out)
        tables = {}
        for inclusive in ("yes", "no"):
            tables[inclusive] = subprocess.run(
                ["callgrind_annotate", f"--inclusive={inclusive}", "--threshold=100", out],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
    lines = [f"ours on {mix}: {total:,} instructions per batch"]
    for inclusive, title in (("yes", "inclusive"), ("no", "self (exclusive)")):
        lines.append(f"\n{title}, per batch:")
        # "cost (percent)  file:function [object]"; no debug info, so the file is "???".
        rows = re.findall(r"^\s*([\d,]+) \([^)]*\)\s+\S*?:(.*)$", tables[inclusive], re.M)
        kept = [(c, n.strip()) for c, n in rows if not any(a in n for a in ABOVE) and not n.strip().startswith("main [")]
        for cost, name in kept[:count]:
            per_batch = int(cost.replace(",", "")) // repeat
            lines.append(f"{per_batch:>13,}  {per_batch / total:6.1%}  {name[:110]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mixes", default=",".join(MIXES))
    parser.add_argument("--tsv", help="also write mix, subject, instructions per batch")
    parser.add_argument("--top", metavar="MIX", help="also print ours' top functions on MIX")
    parser.add_argument("--no-table", action="store_true", help="only --top")
    args = parser.parse_args()
    binary = build()
    if args.no_table:
        if args.top:
            print(top(binary, args.top, args.repeat))
        return
    mixes = args.mixes.split(",")
    counts = {(m, s): callgrind(binary, m, s, args.repeat) for m in mixes for s, _ in SUBJECTS}

    print("Instructions per 1000-contact batch:\n")
    print("| mix | " + " | ".join(t for _, t in SUBJECTS) + " |")
    print("|---|" + "---:|" * len(SUBJECTS))
    for m in mixes:
        print(f"| {m} | " + " | ".join(f"{counts[m, s]:,}" for s, _ in SUBJECTS) + " |")

    print("\nOurs ÷ each (below 1: ours costs less):\n")
    print("| mix | " + " | ".join(f"÷ {t}" for _, t in SUBJECTS[1:]) + " |")
    print("|---|" + "---:|" * (len(SUBJECTS) - 1))
    for m in mixes:
        ours = counts[m, "ours"]
        cells = []
        for s, _ in SUBJECTS[1:]:
            ratio = ours / counts[m, s]
            cells.append(f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.2f}")
        print(f"| {m} | " + " | ".join(cells) + " |")

    if args.tsv:
        with open(args.tsv, "w") as f:
            f.write("mix\tsubject\tinstructions\n")
            for (m, s), n in counts.items():
                f.write(f"{m}\t{s}\t{n}\n")
        print(f"\nwritten: {args.tsv}")
    if args.top:
        print("\n" + top(binary, args.top, args.repeat))


if __name__ == "__main__":
    main()
