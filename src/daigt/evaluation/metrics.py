"""Metrics of a detector read at the thresholds it is used at: ROC AUC and the TPR at a low false-positive rate.

They take plain arrays, so any score (a fold's, a pooled set's, a blend's) is measured the same way.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

FPR_TARGETS = (0.01, 0.05)
"""False-positive rates at which the TPR is reported: a detector is used with few false accusations."""


def auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """ROC AUC, or NaN when only one label is present (a fold that cannot be scored, not an error)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def tpr_at_fpr(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, max_fpr: float) -> float:
    """Share of machine essays caught at the best threshold that flags at most ``max_fpr`` of human essays.

    AUC averages over all thresholds; a detector is used at one threshold with few false accusations, which
    is what this reports. Tied scores are never split (a threshold flags all rows of a score or none).
    """
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, np.asarray(scores, dtype=np.float64), drop_intermediate=False)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def metric_row(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {
        "n_human": int((labels == 0).sum()),
        "n_machine": int((labels == 1).sum()),
        "auc": auc(labels, scores),
    }
    for target in FPR_TARGETS:
        row[tpr_column(target)] = tpr_at_fpr(labels, scores, target)
    return row


def tpr_column(target: float) -> str:
    return f"tpr_at_{target * 100:g}pct_fpr"
