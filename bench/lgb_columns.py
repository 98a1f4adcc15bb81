"""How many TF-IDF columns LightGBM can split on at all, i.e. how small ``ensemble.lightgbm.max_features`` can be.

LightGBM never splits on a column present in fewer than ``min_child_samples`` training documents (the side of a
split holding the non-zero rows would be too small; its ``feature_pre_filter`` drops such columns while binning).
``DocumentFrequencySelector`` keeps the columns of highest training document frequency, so any ``max_features``
at least the count printed here keeps every splittable column: the trees, and the predictions, do not change;
only the binning of millions of unusable columns (time and memory) goes away.

    python bench/lgb_columns.py /tmp/daigt-bench/45000x9000-seed0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence


def splittable_columns(corpus: Path, thresholds: Sequence[int]) -> dict:
    import numpy as np
    import pandas as pd

    from daigt.config import Config
    from daigt.pipeline import clean_texts, encode_corpora, tfidf_features
    from daigt.stages import StageLog

    config = Config()
    train = pd.read_csv(corpus / "train.csv")
    test = pd.read_csv(corpus / "test.csv")
    stages = StageLog()
    train_texts, test_texts = clean_texts(config, train["text"].astype(str).tolist(), test["text"].astype(str).tolist())
    _, train_ids, test_ids = encode_corpora(config, train_texts, test_texts, stages, show_progress=False)
    _, X_train, _ = tfidf_features(config, train_ids, test_ids, stages)
    df = np.bincount(X_train.indices, minlength=X_train.shape[1])
    return {
        "corpus": str(corpus),
        "n_train": int(X_train.shape[0]),
        "n_columns": int(X_train.shape[1]),
        "min_child_samples": config.ensemble.lightgbm.min_child_samples,
        "columns_with_train_df_at_least": {int(t): int((df >= t).sum()) for t in thresholds},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a directory written by bench/make_corpus.py (train.csv, test.csv)")
    parser.add_argument("--thresholds", default="1,2,10,50,115,200",
                        help="document-frequency thresholds to count (115 = the recipe's min_child_samples)")
    args = parser.parse_args(argv)
    result = splittable_columns(args.corpus, [int(t) for t in args.thresholds.split(",")])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
