"""Markdown tables of run_bench.py records: stage times and peak memory, kit vs reference, with ratios.

    python bench/perf_table.py bench/results/bench.json
    python bench/perf_table.py bench/results/lightgbm.json --lightgbm

The first form gives one row per (size, stage) with kit seconds, reference seconds and the speedup, then end to
end (child process wall time: imports, read, ..., write) and peak RSS; the second lists every variant of one
record (e.g. the LightGBM ensembles ``kit+lgb``, ``kit+lgb@K``, ``default+lgb``). Wall seconds throughout;
CPU seconds are in the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

STAGES = ("read", "clean texts", "train tokenizer", "encode", "featurize", "fit ensemble", "predict", "write")


def stage_seconds(run: dict) -> dict[str, float]:
    return {s["stage"]: s["seconds"] for s in run.get("stages", [])}


def cell(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def speedup(kit: float | None, ref: float | None) -> str:
    return f"{ref / kit:.1f}×" if kit and ref else "–"


def scaling_table(record: dict, kit_name: str = "kit", ref_name: str = "reference") -> str:
    lines = ["| train × test | stage | kit (s) | reference (s) | speedup |", "|---|---|---:|---:|---:|"]
    for size in record["sizes"]:
        runs = {r["variant"]: r for r in size["runs"] if r.get("status") == "ok"}
        kit, ref = runs.get(kit_name, {}), runs.get(ref_name, {})
        ks, rs = stage_seconds(kit), stage_seconds(ref)
        label = f"{size['train']:,} × {size['test']:,}"
        for name in STAGES:
            if name in ks or name in rs:
                lines.append(f"| {label} | {name} | {cell(ks.get(name))} | {cell(rs.get(name))} | "
                             f"{speedup(ks.get(name), rs.get(name))} |")
                label = ""
        lines.append(f"| | **end to end** | **{cell(kit.get('wall_seconds'), 1)}** | "
                     f"**{cell(ref.get('wall_seconds'), 1)}** | **{speedup(kit.get('wall_seconds'), ref.get('wall_seconds'))}** |")
        k_mem, r_mem = kit.get("max_rss_mb"), ref.get("max_rss_mb")
        share = f"{k_mem / r_mem:.2f} of ref" if k_mem and r_mem else "–"
        lines.append(f"| | peak RSS (MiB) | {cell(k_mem, 0)} | {cell(r_mem, 0)} | {share} |")
        lines.append(f"| | ROC AUC | {cell(kit.get('auc'), 4)} | {cell(ref.get('auc'), 4)} | |")
        lines.append(f"| | n-gram features | {count(kit.get('n_features'))} | {count(ref.get('n_features'))} | |")
    return "\n".join(lines)


def lightgbm_table(record: dict) -> str:
    lines = ["| train × test | variant | fit ensemble (s) | predict (s) | end to end (s) | peak RSS (MiB) | AUC | "
             "load avg (1 min, before → after) |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for size in record["sizes"]:
        for run in size["runs"]:
            s = stage_seconds(run)
            load = (f"{run['loadavg_before'][0]:.1f} → {run['loadavg_after'][0]:.1f}"
                    if run.get("loadavg_before") else "–")
            status = "" if run.get("status") == "ok" else f" ({run.get('status')})"
            lines.append(f"| {size['train']:,} × {size['test']:,} | {run['variant']}{status} | "
                         f"{cell(s.get('fit ensemble'), 1)} | {cell(s.get('predict'), 1)} | "
                         f"{cell(run.get('wall_seconds'), 1)} | {cell(run.get('max_rss_mb'), 0)} | "
                         f"{cell(run.get('auc'), 4)} | {load} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", type=Path)
    parser.add_argument("--lightgbm", action="store_true", help="one row per variant (the LightGBM ensembles)")
    parser.add_argument("--kit", default="kit", help="kit variant of the scaling table (e.g. kit-tokenizers)")
    args = parser.parse_args(argv)
    if not args.record.exists():
        raise SystemExit(f"{args.record}: no such record; run bench/run_bench.py first")
    record = json.loads(args.record.read_text(encoding="utf-8"))
    print(lightgbm_table(record) if args.lightgbm else scaling_table(record, args.kit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
