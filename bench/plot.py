#!/usr/bin/python3
"""Turn `smmap bench --json` output into a PNG: one panel per case, a bar per
implementation with its median, a line from its minimum to its maximum, and
each bar's ratio to the case's baseline (the whole-file mapping where there
is one).

usage: smmap bench --json | bench/plot.py OUT.png [TITLE]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The bar each case's ratios are taken against; for ns/op lower is better.
BASELINE = {"seq-scan": "raw-mmap-populate", "random-64b": "raw-mmap",
            "hit-path": "raw-pointer", "threads": "1"}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 4.2))
    for ax, case in zip(axes if len(cases) > 1 else [axes], cases):
        mine = [r for r in rows if r["case"] == case]
        base = next((r["value"] for r in mine if r["impl"] == BASELINE.get(case)), None)
        names = [r["impl"] for r in mine]
        values = [r["value"] for r in mine]
        colors = ["#999999" if n == BASELINE.get(case) else "#3b75af" for n in names]
        spread = [[v - r.get("min", v) for v, r in zip(values, mine)],
                  [r.get("max", v) - v for v, r in zip(values, mine)]]
        bars = ax.bar(range(len(mine)), values, color=colors, yerr=spread, capsize=3,
                      error_kw={"elinewidth": 0.8})
        for bar, v in zip(bars, values):
            label = f"{v:.3g}"
            if base:
                label += f"\n{v / base:.2f}x"
            ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, 3), textcoords="offset points",
                        ha="left", va="bottom", fontsize=8)
        ax.set_xticks(range(len(mine)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{case} ({mine[0]['unit']})", fontsize=10)
        ax.margins(y=0.25)
    fig.suptitle(sys.argv[2] if len(sys.argv) > 2 else "smmap bench", fontsize=11)
    fig.tight_layout()
    fig.savefig(sys.argv[1], dpi=110)


if __name__ == "__main__":
    main()
