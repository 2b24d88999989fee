"""Shared helpers of the Python suite: the repository's corpora and conformance cases."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "e164" / "tests" / "data"
CONFORMANCE = REPO / "tests" / "conformance"

# SPEC section 8: a world's `now` and key when it gives none.
DEFAULT_NOW = "2025-06-01T00:00:00Z"


def corpus_lines(name: str) -> tuple[str, list[str]]:
    """The header and the data lines of a gzip corpus, split on '\\n' only (as Rust's
    `lines()`: an input may hold other line separators, such as U+2028)."""
    text = gzip.decompress((DATA / name).read_bytes()).decode("utf-8")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines[0], lines[1:]


def conformance_cases() -> list[tuple[str, dict]]:
    """Every conformance case as (folder/name, parsed case), in name order."""
    cases = []
    for path in sorted(CONFORMANCE.glob("*/*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        cases.append((f"{path.parent.name}/{path.stem}", case))
    return cases


def case_body(case: dict) -> bytes:
    """The request body of a case: `body_raw` as written, or `body` as compact JSON."""
    if "body_raw" in case:
        return case["body_raw"].encode("utf-8")
    return json.dumps(case["body"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def case_api_key(case: dict) -> str | None:
    """`api_key` absent: the world's first key (or the default world's); null: no header."""
    if "api_key" in case:
        return case["api_key"]
    keys = case.get("world", {}).get("api_keys")
    if keys is None:
        return "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
    return keys[0] if keys else None


def ordered(text: str | bytes):
    """A JSON text with its objects as lists of (name, value) pairs, so that comparing two of
    them also compares the order of members."""
    return json.loads(text, object_pairs_hook=list)
