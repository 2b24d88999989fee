#!/usr/bin/env python3
"""Count the glue of the new-user trial programs (issue 22), so that the figure is repeatable.

The two programs are the ones a new user writes from the README alone:

* `server/examples/axum_service.rs` — the engine in an axum service over an async store;
* `examples/client.rs` — a client that pre-checks, splits, sends (curl) and merges.

Each marks its glue — the code between the framework (or the HTTP client) and the store (or
the contacts in memory) — with a `// glue begins` line and a `// glue ends` line: the store
itself, the generated demo data and `main`'s argument parsing are outside. Counted apart, and
printed with the total: the service's `router` (axum plumbing, as `tools/glue_lines.py`
leaves out the reference server's `http.rs`) and the client's `post`, which runs curl as a
stand-in for an HTTP client library (with a library, one call). A line counts when
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
# (file, goal in lines, functions outside the markers counted apart)
PROGRAMS = [
    ("server/examples/axum_service.rs", 50, ["router"]),
    ("examples/client.rs", 40, ["post"]),
]
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


def function(path: str, name: str) -> list[tuple[int, str]]:
    """The code lines of top-level `fn name` (signature to closing brace)."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    for at, line in enumerate(lines):
        if line.startswith((f"fn {name}(", f"pub fn {name}(")):
            depth, seen = 0, False
            for end in range(at, len(lines)):
                depth += lines[end].count("{") - lines[end].count("}")
                seen = seen or "{" in lines[end]
                if seen and depth == 0:
                    return [(n + 1, lines[n]) for n in range(at, end + 1)
                            if lines[n].strip() and not lines[n].strip().startswith("//")]
    sys.exit(f"{path}: no fn {name}")


def main() -> int:
    show = "--list" in sys.argv[1:]
    over = False
    for path, goal, apart in PROGRAMS:
        counted = glue(path)
        if show:
            for number, line in counted:
                print(f"{path}:{number}: {line}")
        verdict = "met" if len(counted) <= goal else "MISSED"
        over |= len(counted) > goal
        print(f"{path}: {len(counted)} lines of glue (goal <= {goal}: {verdict})")
        for name in apart:
            lines = function(path, name)
            print(f"  apart: fn {name}, {len(lines)} lines (glue + it: {len(counted) + len(lines)})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
