"""The final blend: one weighted mean over named score columns, with one meaning of weight.

A weight is a share: a column counts ``weight / total`` of the blend, where ``total`` adds the weights of the
columns present (weight 0 = absent). The TF-IDF ensemble is one column whose weight is the total of its members'
weights, and its members share that total out among themselves in the same units
(:class:`daigt.models.WeightedEnsemble`), so ``ensemble.mnb.weight = 0.07``, ``ensemble.style.weight = 0.1`` and
``transformer.weight = 0.48`` are all on one scale, as is the weight of any member added later.

With ``averaging="rank"`` each column is first replaced by its normalised ranks: ROC AUC depends only on the order
of the scores, and members score on unrelated scales (MultinomialNB is nearly always 0 or 1, a transformer's
sigmoid is sharp), so averaging raw probabilities would let the most extreme member dominate.
Pure numpy/scipy: importable without torch or scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

AVERAGING = ("probability", "rank")


def rank_scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Average ranks scaled to (0, 1]: ties share a rank, so tied scores stay tied after blending."""
    scores = np.asarray(scores, float)
    return rankdata(scores, method="average") / max(len(scores), 1)


def weighted_mean(scores: Sequence[np.ndarray], weights: Sequence[float], averaging: str) -> np.ndarray:
    """Weighted mean of score columns, or of their ranks when ``averaging='rank'``, clipped to [0, 1]."""
    if averaging not in AVERAGING:
        raise ValueError(f"averaging = {averaging!r}: use one of {AVERAGING}")
    if averaging == "rank":
        scores = [rank_scores(s) for s in scores]
    return np.clip(np.average(np.vstack(scores), axis=0, weights=np.asarray(weights, float)), 0.0, 1.0)


@dataclass(frozen=True)
class Blend:
    """The weight table, by column name, and how the columns are averaged.

    Columns are blended in the table's order (a float sum depends on it). A single present column is returned
    as it is: weights only matter relative to each other, and ranking one column would only rescale it.
    """

    weights: Mapping[str, float]
    averaging: str = "rank"
    present: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.averaging not in AVERAGING:
            raise ValueError(f"Blend: averaging = {self.averaging!r}; use one of {AVERAGING}")
        for name, weight in self.weights.items():
            if not (np.isfinite(weight) and weight >= 0):
                raise ValueError(f"Blend: weight of column {name!r} is {weight}; weights must be finite and >= 0")
        present = tuple(name for name, weight in self.weights.items() if weight > 0)
        if not present:
            raise ValueError(f"Blend: every weight in {dict(self.weights)} is 0; give at least one column a weight > 0")
        object.__setattr__(self, "present", present)

    def scores(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The blended score of every row, from ``columns`` (one score array per present column name)."""
        missing = [name for name in self.present if name not in columns]
        if missing:
            raise ValueError(f"Blend: no scores for column(s) {missing}; got {sorted(columns)}")
        values = [np.asarray(columns[name], dtype=np.float64).ravel() for name in self.present]
        for name, column in zip(self.present, values):
            if column.shape != values[0].shape:
                raise ValueError(f"Blend: column {name!r} has {column.size} scores, {self.present[0]!r} has "
                                 f"{values[0].size}; every column must score the same rows")
            bad = np.flatnonzero(~np.isfinite(column))
            if bad.size:
                raise ValueError(f"Blend: column {name!r} has {bad.size} non-finite score(s), first at row {int(bad[0])}")
        if len(values) == 1:
            return columns[self.present[0]]
        return weighted_mean(values, [self.weights[name] for name in self.present], self.averaging)
