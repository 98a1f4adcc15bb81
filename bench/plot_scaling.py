"""Time and peak memory against corpus size, kit vs reference, from run_bench.py's JSON records.

    python bench/plot_scaling.py bench/results/bench.json [more.json ...] --out bench/results/scaling.png

Several records may be given (e.g. one per size); for a (size, variant) present in more than one, the last wins.
Three panels: end-to-end wall time, featurization wall time, peak RSS, each on log-log axes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

BENCH_DIR = Path(__file__).resolve().parent
STYLE = {"kit": ("tab:blue", "-o"), "kit-tokenizers": ("tab:green", "-^"), "reference": ("tab:red", "-s"),
         "reference+lgb": ("tab:orange", "--s")}


def collect(paths: Sequence[Path]) -> dict[str, dict[int, dict]]:
    """``{variant: {n_train: run}}`` for every successful run in the records."""
    series: dict[str, dict[int, dict]] = {}
    for path in paths:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        for size in record.get("sizes", []):
            for run in size.get("runs", []):
                if run.get("status") == "ok":
                    series.setdefault(run["variant"], {})[int(size["train"])] = run
    return series


def stage_seconds(run: dict, name: str) -> float | None:
    return next((s["seconds"] for s in run.get("stages", []) if s["stage"] == name), None)


def plot(series: dict[str, dict[int, dict]], out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from daigt.io import write_atomic

    panels = [
        ("end to end (s)", lambda r: r.get("wall_seconds")),
        ("featurize (s)", lambda r: stage_seconds(r, "featurize")),
        ("peak RSS (GiB)", lambda r: r["max_rss_mb"] / 1024 if r.get("max_rss_mb") else None),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.5))
    for ax, (label, value) in zip(axes, panels):
        for variant in sorted(series):
            points = sorted((n, value(run)) for n, run in series[variant].items() if value(run) is not None)
            if not points:
                continue
            color, style = STYLE.get(variant, (None, ":^"))
            ax.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=variant)
            for n, v in points:
                ax.annotate(f"{v:.3g}", (n, v), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training essays (test = 1/5)")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", nargs="*", type=Path, default=[BENCH_DIR / "results" / "bench.json"])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "scaling.png")
    parser.add_argument("--title", default="DAIGT kit vs public TF-IDF recipe")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.records if not p.exists()]
    if missing:
        raise SystemExit(f"no such record(s): {missing}; run bench/run_bench.py first")
    series = collect(args.records)
    if not series:
        raise SystemExit("the records hold no successful run to plot")
    print(plot(series, args.out, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
