"""Result tables read from held-out scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from daigt.evaluation.results import length_bucket, length_table

def test_length_buckets_split_held_out_rows_by_words():
    assert length_bucket(np.array([0, 99, 100, 250, 400, 9000])).tolist() == [
        "0-99", "0-99", "100-199", "200-399", "400+", "400+"]
    predictions = pd.DataFrame({"fold": ["a"] * 4 + ["b"] * 4, "label": [0, 1] * 4,
                                "score": [0.1, 0.9, 0.8, 0.2, 0.1, 0.9, 0.2, 0.8],
                                "n_words": [50, 60, 500, 450, 50, 60, 500, 450]})
    table = length_table(predictions)
    pooled = table[table["fold"] == "all"].set_index("words")["auc"]
    assert pooled["0-99"] == 1.0 and pooled["400+"] == 0.5
    assert table[(table["fold"] == "a") & (table["words"] == "400+")]["auc"].item() == 0.0
