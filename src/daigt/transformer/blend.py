"""Rank blending of the TF-IDF ensemble with the transformer. Pure numpy/scipy: importable without torch.

ROC AUC only depends on the order of the scores, and the two tracks produce probabilities on unrelated scales
(the TF-IDF soft vote is squeezed around its members' calibration, the transformer's sigmoid is sharp), so the
blend averages normalised ranks instead of raw scores.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from daigt.models import rank_scores


def rank_blend(
    tfidf_scores: Sequence[float] | np.ndarray,
    transformer_scores: Sequence[float] | np.ndarray,
    weight: float,
) -> np.ndarray:
    """``(1 - weight) * ranks(tfidf) + weight * ranks(transformer)`` with ranks normalised to (0, 1].

    ``weight`` is the transformer's share (``config.transformer.weight``). The result is a score in (0, 1]
    (not a calibrated probability), which is all the AUC metric needs.
    """
    a = np.asarray(tfidf_scores, dtype=np.float64).ravel()
    b = np.asarray(transformer_scores, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"rank_blend: {a.size} TF-IDF scores but {b.size} transformer scores; both must score the same essays")
    if not 0.0 <= float(weight) <= 1.0:
        raise ValueError(f"rank_blend: weight must be in [0, 1] (the transformer's share), got {weight}")
    for name, values in (("tfidf_scores", a), ("transformer_scores", b)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"rank_blend: {name} has {bad.size} non-finite value(s), first at row {int(bad[0])}")
    if a.size == 0:
        return np.zeros(0, dtype=np.float64)
    return (1.0 - weight) * rank_scores(a) + weight * rank_scores(b)
