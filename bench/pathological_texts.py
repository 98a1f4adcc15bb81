"""Cost of pathological test texts (issue 13, part 2) with and without the run bound of ``daigt.tokenizer``.

Each case is ten essays of the embedded sample plus one pathological text; the tokenizer is fitted on them and
encodes them (what ``daigt run`` does with the test essays). ``--no-bound`` cases replace
``daigt.tokenizer.bound_runs`` by the identity (the behaviour before the bound) and are only run up to
``--max-unbounded`` characters: a 2 MB word took over 15 minutes. Also prints the longest whitespace-free and
whitespace runs of every corpus given with ``--corpus`` (the bound leaves texts below ``MAX_RUN`` untouched).

    python bench/pathological_texts.py --corpus data/sample/llm-detect-ai-generated-text/test_essays.csv \
        data/sample/daigt-external/train.csv ../shared/data/*.csv --out bench/results/pathological.json
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

import daigt.tokenizer as tokenizer_module
from daigt.tokenizer import MAX_RUN, BPETokenizer

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "llm-detect-ai-generated-text" / "test_essays.csv"


def cases(rng: np.random.Generator) -> dict[str, str]:
    return {
        "word 100k": "a" * 100_000,
        "word 200k": "a" * 200_000,
        "word 2M": "a" * 2_000_000,
        "base64 2M": base64.b64encode(rng.bytes(1_500_000)).decode(),
        "spaces 2M": "start" + " " * 2_000_000 + "end",
    }


def time_case(text: str, essays: list[str]) -> dict[str, float]:
    texts = essays + [text]
    start = time.perf_counter()
    tok = BPETokenizer(show_progress=False).fit(texts)
    fitted = time.perf_counter()
    tok.encode(texts)
    return {"fit_s": round(fitted - start, 2), "encode_s": round(time.perf_counter() - fitted, 2)}


def longest_runs(paths: list[str]) -> dict[str, dict[str, int]]:
    out = {}
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "text" not in frame.columns:
            continue
        words = max((len(m) for t in frame["text"] for m in re.findall(r"\S+", t)), default=0)
        blanks = max((len(m) for t in frame["text"] for m in re.findall(r"\s+", t)), default=0)
        out[Path(path).name] = {"rows": len(frame), "longest_non_whitespace_run": words, "longest_whitespace_run": blanks}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-unbounded", type=int, default=200_000, help="largest text timed without the bound")
    parser.add_argument("--corpus", nargs="*", default=[], help="CSV files whose longest runs are reported")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()

    essays = pd.read_csv(SAMPLE)["text"].head(10).tolist()
    bound = tokenizer_module.bound_runs
    results: dict[str, object] = {"max_run": MAX_RUN, "cases": {}}
    for name, text in cases(np.random.default_rng(0)).items():
        row = {"chars": len(text), "bounded": time_case(text, essays)}
        if len(text) <= args.max_unbounded:
            tokenizer_module.bound_runs = lambda t, max_run=MAX_RUN: t
            try:
                row["unbounded"] = time_case(text, essays)
            finally:
                tokenizer_module.bound_runs = bound
        results["cases"][name] = row
        print(name, row, flush=True)
    results["corpora"] = longest_runs(args.corpus)
    for name, row in results["corpora"].items():
        print(name, row)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
