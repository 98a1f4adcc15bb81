"""AUC and TPR at low FPR, against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from daigt.evaluation.metrics import auc, tpr_at_fpr

def test_auc_matches_sklearn_and_is_nan_for_one_label():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    scores = rng.random(200) + 0.3 * labels
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(auc(np.ones(5), np.arange(5)))


def test_tpr_at_fpr_hand_computed():
    # 10 humans with scores 0..9 (9 is the highest), 4 machines
    labels = np.array([0] * 10 + [1] * 4)
    scores = np.array(list(range(10)) + [9.5, 8.5, 3.5, 10.0])
    # FPR 0 allowed: threshold above 9 -> machines 9.5 and 10.0 caught = 2/4
    assert tpr_at_fpr(labels, scores, 0.0) == pytest.approx(0.5)
    # FPR <= 10% (one human, score 9): threshold 8.5 catches 9.5, 10, 8.5 -> 3/4
    assert tpr_at_fpr(labels, scores, 0.1) == pytest.approx(0.75)
    # FPR <= 5% of 10 humans: still no human may be flagged
    assert tpr_at_fpr(labels, scores, 0.05) == pytest.approx(0.5)
    assert tpr_at_fpr(labels, scores, 1.0) == pytest.approx(1.0)


def test_tpr_at_fpr_never_splits_ties():
    labels = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.9, 0.9])  # a human ties with both machines
    assert tpr_at_fpr(labels, scores, 0.2) == pytest.approx(0.0)
    assert tpr_at_fpr(labels, scores, 0.25) == pytest.approx(1.0)
