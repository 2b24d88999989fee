#!/usr/bin/env python3
"""Count the reference server's glue around the engine, so that the figure is repeatable.

Definition. The glue is the code a server writes between its framework and its store to run
the engine: calling the engine's steps, and converting between the engine's types and the
store's or the HTTP side's. In the reference server it is `server/src/pipeline.rs` (the one
module that calls the engine: the request path), without

* its `#[cfg(test)]` module, and
* the demo seeding (`seed`, `seed_world`, `demo`: not on the request path; they left the file
  when `--seed-demo` moved to `server/src/demo.rs`).

The store's own SQL, locks and row-count checks (`server/src/store/`), metrics, limits,
shutdown and the HTTP plumbing (`server/src/http.rs` and the rest) are not glue. A line counts
when it is neither blank nor a comment (`//`, `///`, `//!`).

So that no glue hides elsewhere, the script also lists, as a second figure, every other line of
`server/src/` (tests and `bin/` excepted) that names an item of the engine (`bulk_contacts::…`,
or a name the file imports from `bulk_contacts`): in a store, the lines that turn fetched rows
into the engine's maps and bind the engine's write plan to statements.

Usage:
  python3 tools/glue_lines.py                # the working tree
  python3 tools/glue_lines.py --rev main     # a git revision
  python3 tools/glue_lines.py --list         # also print every line counted
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "server/src/pipeline.rs"
NOT_REQUEST_PATH = ("seed", "seed_world", "demo")


def read(rev: str | None, path: str) -> str | None:
    if rev is None:
        file = ROOT / path
        return file.read_text(encoding="utf-8") if file.exists() else None
    shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
                           capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def files(rev: str | None) -> list[str]:
    if rev is None:
        return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "server/src").rglob("*.rs"))
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev,
                             "server/src"], capture_output=True, text=True, check=True)
    return sorted(p for p in listed.stdout.split() if p.endswith(".rs"))


def is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("//")


def without_tests(lines: list[str]) -> list[tuple[int, str]]:
    """The numbered lines before a top-level `#[cfg(test)]` (the tests module ends the file)."""
    kept = []
    for number, line in enumerate(lines, 1):
        if line.startswith("#[cfg(test)]"):
            break
        kept.append((number, line))
    return kept


def item_span(lines: list[tuple[int, str]], name: str) -> set[int]:
    """Line numbers of the top-level `fn name` (its signature to its closing brace)."""
    start = re.compile(rf"^(pub(\(crate\))? )?(async )?fn {name}\b")
    for at, (_, line) in enumerate(lines):
        if start.match(line):
            depth, seen = 0, False
            for end in range(at, len(lines)):
                text = lines[end][1].split("//", 1)[0]
                depth += text.count("{") - text.count("}")
                seen = seen or "{" in text
                if seen and depth == 0:
                    return {n for n, _ in lines[at:end + 1]}
    return set()


def glue(rev: str | None) -> list[tuple[int, str]]:
    text = read(rev, PIPELINE)
    if text is None:
        sys.exit(f"{PIPELINE} not found")
    lines = without_tests(text.splitlines())
    skipped: set[int] = set()
    for name in NOT_REQUEST_PATH:
        skipped |= item_span(lines, name)
    return [(n, line) for n, line in lines if n not in skipped and is_code(line)]


def engine_names(text: str) -> set[str]:
    """Names a file imports from `bulk_contacts` (`use bulk_contacts::{A, B}`, `…::C;`)."""
    names: set[str] = set()
    for group in re.findall(r"use bulk_contacts::\{([^}]*)\}", text, re.S):
        for item in group.split(","):
            item = item.strip().split("::")[-1].split(" as ")[-1].strip("{} \n")
            if item and item != "self":
                names.add(item)
    for item in re.findall(r"use bulk_contacts::(?:\w+::)*(\w+);", text):
        names.add(item)
    return names


def elsewhere(rev: str | None) -> list[tuple[str, int, str]]:
    found = []
    for path in files(rev):
        if path == PIPELINE or path.startswith("server/src/bin/"):
            continue
        text = read(rev, path) or ""
        names = engine_names(text)
        pattern = re.compile(r"\bbulk_contacts::|" + "|".join(rf"\b{re.escape(n)}\b" for n in sorted(names))
                             if names else r"\bbulk_contacts::")
        for number, line in without_tests(text.splitlines()):
            if is_code(line) and not line.lstrip().startswith("use ") and pattern.search(line):
                found.append((path, number, line))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="a git revision (default: the working tree)")
    parser.add_argument("--list", action="store_true", help="print every line counted")
    args = parser.parse_args()
    counted = glue(args.rev)
    other = elsewhere(args.rev)
    if args.list:
        for number, line in counted:
            print(f"{PIPELINE}:{number}: {line}")
        for path, number, line in other:
            print(f"{path}:{number}: {line}")
    where = args.rev or "working tree"
    print(f"glue ({PIPELINE}, request path): {len(counted)} lines [{where}]")
    by_file: dict[str, int] = {}
    for path, _, _ in other:
        by_file[path] = by_file.get(path, 0) + 1
    detail = ", ".join(f"{path} {n}" for path, n in sorted(by_file.items())) or "none"
    print(f"other server lines naming an engine item: {len(other)} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
