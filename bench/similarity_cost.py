"""Cost of the learned blend's similarity feature (``ensemble.stack.similarity``) at Kaggle scale.

The feature hashes every training and test text's word bigrams and measures, per text, the share some other
fold's (or, for a test text, any training) text has. This script times exactly that work on 45,000 training and
9,000 test texts drawn with replacement from labelled CSVs, with the blend's 4 folds:

    python bench/similarity_cost.py ../shared/data/*.csv

It adds to ``default+stack`` / ``default+corpus-stack`` of ``bench/run_bench.py``, which time whole runs.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from daigt.features import ngram_coverage, word_bigram_sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="labelled CSVs with a text column")
    parser.add_argument("--train", type=int, default=45000)
    parser.add_argument("--test", type=int, default=9000)
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()
    texts = pd.concat([pd.read_csv(f, usecols=["text"]) for f in args.files])["text"].astype(str).tolist()
    rng = np.random.default_rng(0)
    train = [texts[i] for i in rng.integers(0, len(texts), args.train)]
    test = [texts[i] for i in rng.integers(0, len(texts), args.test)]
    seconds = {}
    start = time.perf_counter()
    train_sets = word_bigram_sets(train)
    seconds["hash train"] = time.perf_counter() - start
    start = time.perf_counter()
    test_sets = word_bigram_sets(test)
    seconds["hash test"] = time.perf_counter() - start
    folds = rng.integers(0, args.folds, args.train)
    start = time.perf_counter()
    for k in range(args.folds):
        ngram_coverage(train_sets[folds == k], train_sets[folds != k])
    ngram_coverage(test_sets, train_sets)
    seconds["coverage"] = time.perf_counter() - start
    mib = (train_sets.data.nbytes + train_sets.indices.nbytes + test_sets.data.nbytes + test_sets.indices.nbytes) / 2**20
    print(f"{args.train:,} x {args.test:,} texts, {args.folds} folds: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
          + f"; total {sum(seconds.values()):.1f} s; bigram matrices {mib:.0f} MiB; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
