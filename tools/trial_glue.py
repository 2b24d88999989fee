#!/usr/bin/env python3
"""Count the glue of the new-user trial programs (issue 22), so that the figure is repeatable.

The two programs are the ones a new user writes from the README alone:

* `server/examples/axum_service.rs` — the engine in an axum service over an async store;
* `examples/client.rs` — a client that pre-checks, splits, sends (curl) and merges.

Each marks its glue — the code between the framework (or the HTTP client) and the store (or
the contacts in memory) — with a `// glue begins` line and a `// glue ends` line: the store
itself, the generated demo data and `main`'s argument parsing are outside. A line counts when
it is inside the markers and is neither blank nor a comment (`//`, `///`, `//!`). The files are
counted as `cargo fmt` leaves them.

Usage:
  python3 tools/trial_glue.py            # both counts, with the issue's goals
  python3 tools/trial_glue.py --list     # also every line counted
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (file, goal in lines)
PROGRAMS = [("server/examples/axum_service.rs", 50), ("examples/client.rs", 40)]
BEGIN, END = "// glue begins", "// glue ends"


def glue(path: str) -> list[tuple[int, str]]:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [n for n, line in enumerate(lines) if line.strip() == END]
    if not starts or len(starts) != len(ends):
        sys.exit(f"{path}: expected matching '{BEGIN}' / '{END}' lines")
    counted = []
    for start, end in zip(starts, ends):
        for number in range(start + 1, end):
            text = lines[number].strip()
            if text and not text.startswith("//"):
                counted.append((number + 1, lines[number]))
    return counted


def main() -> int:
    show = "--list" in sys.argv[1:]
    over = False
    for path, goal in PROGRAMS:
        counted = glue(path)
        if show:
            for number, line in counted:
                print(f"{path}:{number}: {line}")
        verdict = "met" if len(counted) <= goal else "MISSED"
        over |= len(counted) > goal
        print(f"{path}: {len(counted)} lines of glue (goal <= {goal}: {verdict})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
