#!/usr/bin/env python3
"""Draw BENCHMARKS.md's import-checker chart (an SVG bar chart, no dependency) from the TSV of
figures that `tools/cli/bench_check.sh` printed: columns `run`, `before`, `after` (rows per
CPU-second, in thousands) and the goal line at 1,000 k.

Usage: python3 tools/cli/chart.py benches/charts/cli_check.tsv benches/charts/cli_check.svg
"""

import csv
import sys


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    width, height, left, bottom, top = 640, 320, 150, 40, 30
    scale = max(1300.0, *(float(r["after"]) for r in rows)) * 1.05
    bar = (height - top - bottom) / len(rows) / 2.6
    x = lambda v: left + (width - left - 20) * v / scale  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13">bulk-contacts check --default-region US, '
        "half the numbers national: rows per CPU-second</text>",
    ]
    for i, r in enumerate(rows):
        y = top + i * bar * 2.6 + 6
        for k, (key, colour) in enumerate((("before", "#bbbbbb"), ("after", "#3b6fb6"))):
            v = float(r[key])
            yy = y + k * bar
            out.append(f'<rect x="{left}" y="{yy:.1f}" width="{x(v) - left:.1f}" height="{bar:.1f}" fill="{colour}"/>')
            out.append(f'<text x="{x(v) + 4:.1f}" y="{yy + bar - 3:.1f}">{v:.0f} k ({key})</text>')
        out.append(f'<text x="{left - 6}" y="{y + bar + 4:.1f}" text-anchor="end">{r["run"]}</text>')
    gx = x(1000)
    out.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{height - bottom}" stroke="#c0392b" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{gx + 3:.1f}" y="{height - bottom + 14}" fill="#c0392b">goal: 1,000 k</text>')
    out.append(f'<text x="{left}" y="{height - 8}" fill="#555">2-core VM at load 5-6 (shared); same run, alternating</text>')
    out.append("</svg>")
    with open(target, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
