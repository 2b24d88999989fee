#!/usr/bin/env python3
"""Draw BENCHMARKS.md's chart of the PostgreSQL write path (issue 21): an SVG bar chart, no
dependency, from a TSV with columns `figure`, `before`, `after`, `goal` (the goal as a
fraction of `before`; empty when the figure has none). Each bar is after ÷ before; the goal
is a red tick on its bar.

Usage: python3 server/scripts/write_path_chart.py benches/charts/write_path.tsv \
           benches/charts/write_path.svg
"""

import csv
import sys


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    width, left, top, bottom, right = 780, 300, 34, 34, 150
    bar = 18
    height = top + bottom + len(rows) * bar * 1.8
    x = lambda v: left + (width - left - right) * v  # noqa: E731  (v: 0..1 of before)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height:.0f}" fill="white"/>',
        f'<text x="10" y="20" font-size="13">PostgreSQL write path per 1000-contact batch: '
        "after ÷ before (shorter is better)</text>",
    ]
    for i, r in enumerate(rows):
        y = top + i * bar * 1.8
        before, after = float(r["before"]), float(r["after"])
        ratio = after / before
        out.append(f'<rect x="{left}" y="{y:.1f}" width="{x(1) - left:.1f}" height="{bar}" '
                   'fill="#e6e6e6"/>')
        out.append(f'<rect x="{left}" y="{y:.1f}" width="{x(ratio) - left:.1f}" '
                   f'height="{bar}" fill="#3b6fb6"/>')
        out.append(f'<text x="{left - 6}" y="{y + bar - 5:.1f}" text-anchor="end">'
                   f'{r["figure"]}</text>')
        out.append(f'<text x="{x(1) + 6:.1f}" y="{y + bar - 5:.1f}">{r["before"]} → '
                   f'{r["after"]} ({ratio:.2f}×)</text>')
        if r.get("goal"):
            gx = x(float(r["goal"]))
            out.append(f'<line x1="{gx:.1f}" y1="{y - 2:.1f}" x2="{gx:.1f}" '
                       f'y2="{y + bar + 2:.1f}" stroke="#c0392b" stroke-width="2"/>')
    out.append(f'<text x="{left}" y="{height - 10:.0f}" fill="#555">grey: before (1.0); '
               'blue: after; red tick: the goal</text>')
    out.append("</svg>")
    with open(target, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
