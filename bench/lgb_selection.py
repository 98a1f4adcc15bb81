"""What LightGBM's column selection and binning cost in time and in leave-prompt-out AUC, at Kaggle scale.

LightGBM's time per boosting round grows with the non-zeros of the columns it keeps, so the question is how few
TF-IDF columns (and bins) it can get without losing AUC on prompts it never saw. Here one corpus written by
``make_corpus.py`` is featurized once, as ``daigt run`` would (vocabulary from the whole test set), with every
essay of the ``--hold-out`` prompts removed from the training side; each variant then fits the recipe's ensemble
(``PUBLIC_RECIPE``: MNB + SGD + LightGBM, soft vote) with its own ``--set`` overrides, and is scored on the test
essays of the held-out prompts (unseen prompts) and on all test essays.

    python bench/lgb_selection.py /tmp/daigt-bench/45000x9000-seed0 \\
        --variant "recipe=ensemble.lightgbm.max_features=0" \\
        --variant "chi2-2000=ensemble.lightgbm.selection=chi2 ensemble.lightgbm.max_features=2000" \\
        --out bench/results/lgb_selection.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_HOLD_OUT = ("Does the electoral college work?", "Car-free cities", "Driverless cars")
DF_THRESHOLDS = (1, 2, 10, 50, 115, 200)


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition("=")
    if not name.strip():
        raise SystemExit(f"--variant {text!r}: write NAME=section.field=value [section.field=value ...]")
    return name.strip(), overrides.split()


def featurize(corpus: Path, hold_out: Sequence[str], seed: int):
    """TF-IDF of the training essays outside ``hold_out`` and of every test essay, and what to score them on."""
    import pandas as pd

    from daigt.config import Config
    from daigt.pipeline import clean_texts, encode_corpora, tfidf_features
    from daigt.stages import StageLog

    train = pd.read_csv(corpus / "train.csv")
    test = pd.read_csv(corpus / "test.csv")
    missing = sorted(set(hold_out) - set(train["prompt_name"]))
    if missing:
        raise SystemExit(f"--hold-out: {missing} not among the prompt_name values of {corpus / 'train.csv'}")
    train = train[~train["prompt_name"].isin(hold_out)].reset_index(drop=True)
    config = Config(seed=seed)
    stages = StageLog()
    train_texts, test_texts = clean_texts(config, train["text"].astype(str).tolist(), test["text"].astype(str).tolist())
    _, train_ids, test_ids = encode_corpora(config, train_texts, test_texts, stages, show_progress=False)
    _, X_train, X_test = tfidf_features(config, train_ids, test_ids, stages)
    unseen = test["prompt_name"].isin(hold_out).to_numpy()
    return X_train, train["label"].to_numpy(), X_test, test["label"].to_numpy(), unseen, stages


def run_variant(name: str, overrides: list[str], data, seed: int) -> dict:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from daigt.config import PUBLIC_RECIPE, Config
    from daigt.models import tfidf_ensemble

    X_train, y_train, X_test, y_test, unseen, _ = data
    config = Config(seed=seed).with_overrides([*PUBLIC_RECIPE, *overrides])
    start = time.perf_counter()
    ensemble = tfidf_ensemble(config.ensemble, config.seed).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = ensemble.member_scores(X_test)
    scores["ensemble"] = ensemble.predict_proba(X_test)[:, 1]
    predict_seconds = time.perf_counter() - start
    lightgbm = ensemble.named_estimators_.get("lightgbm")
    record = {
        "variant": name,
        "overrides": overrides,
        "lightgbm": {k: getattr(config.ensemble.lightgbm, k) for k in ("selection", "max_features", "max_bin",
                                                                       "n_estimators", "min_child_samples")},
        "lightgbm_columns": int(len(lightgbm[0].columns_)) if lightgbm is not None else None,
        "fit_seconds": round(fit_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "auc_unseen_prompts": {k: round(float(roc_auc_score(y_test[unseen], s[unseen])), 4) for k, s in scores.items()},
        "auc_all_test": {k: round(float(roc_auc_score(y_test, s)), 4) for k, s in scores.items()},
        "scores_sha1": {k: hashlib.sha1(np.asarray(s).tobytes()).hexdigest()[:12] for k, s in scores.items()},
    }
    print(f"{name:<16} columns {record['lightgbm_columns']}  fit {fit_seconds:7.1f}s  predict {predict_seconds:5.1f}s  "
          f"AUC unseen prompts {record['auc_unseen_prompts']}", flush=True)
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a directory written by bench/make_corpus.py (train.csv, test.csv)")
    parser.add_argument("--hold-out", nargs="+", default=list(DEFAULT_HOLD_OUT), metavar="PROMPT",
                        help="prompts removed from the training side and scored as unseen")
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=OVERRIDES",
                        help="a name and space-separated config overrides on top of PUBLIC_RECIPE (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="JSON record of the run")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant]

    from daigt.features import column_document_frequency
    from daigt.io import write_text_atomic
    from daigt.parallel import available_cores

    data = featurize(args.corpus, args.hold_out, args.seed)
    X_train = data[0]
    df = column_document_frequency(X_train.indices, X_train.shape[1])
    record = {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": sys.argv,
        "corpus": str(args.corpus),
        "hold_out": args.hold_out,
        "cores": available_cores(),
        "loadavg_start": [round(v, 2) for v in os.getloadavg()],
        "n_train": int(X_train.shape[0]),
        "n_test": int(data[2].shape[0]),
        "n_test_unseen": int(data[4].sum()),
        "n_columns": int(X_train.shape[1]),
        "columns_with_train_df_at_least": {t: int((df >= t).sum()) for t in DF_THRESHOLDS},
        "featurize_stages": data[5].as_dicts(),
        "variants": [],
    }
    print(f"train {record['n_train']} (held out: {args.hold_out}), test {record['n_test']} "
          f"({record['n_test_unseen']} of unseen prompts), {record['n_columns']} columns; "
          f"train DF >= t: {record['columns_with_train_df_at_least']}", flush=True)
    for name, overrides in variants:
        record["variants"].append(run_variant(name, overrides, data, args.seed))
        record["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
        if args.out:
            write_text_atomic(args.out, json.dumps(record, indent=1))  # partial results survive a crash
    return 0


if __name__ == "__main__":
    sys.exit(main())
