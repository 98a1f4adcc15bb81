"""The learned blend: prompt-disjoint folds, out-of-fold scores that never saw their row, and the meta-learner."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score

from daigt.folds import group_folds
from daigt.stacking import Member, StackedBlend, stacked_scores


class Memoriser(ClassifierMixin, BaseEstimator):
    """Scores 1 for a row it was fitted on, or for a row whose prompt it saw: any leak shows as a 1."""

    def fit(self, X, y):
        self.rows_, self.prompts_ = set(X[:, 0].tolist()), set(X[:, 1].tolist())
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        seen = np.array([r in self.rows_ or p in self.prompts_ for r, p in X[:, :2].tolist()], float)
        return np.column_stack([1 - seen, seen])


def test_folds_are_prompt_disjoint_and_balanced():
    rng = np.random.default_rng(0)
    groups = rng.choice([f"p{i}" for i in range(11)], size=500)
    folds = group_folds(len(groups), groups, 4, seed=1)
    for prompt in np.unique(groups):
        assert len(np.unique(folds[groups == prompt])) == 1
    sizes = np.bincount(folds)
    assert len(sizes) == 4 and sizes.min() > 0
    assert np.array_equal(folds, group_folds(len(groups), groups, 4, seed=1))


def test_too_few_prompts_fall_back_to_random_folds():
    folds = group_folds(30, ["a"] * 15 + ["b"] * 15, 4, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [7, 7, 8, 8]


def test_no_held_out_row_or_prompt_reaches_its_own_meta_feature():
    n = 240
    groups = np.arange(n) % 9
    X = np.column_stack([np.arange(n), groups, np.zeros(n)])
    y = (np.arange(n) // 2) % 2
    member = Member("spy", Memoriser(), X, X, fit_params={})
    oof = member.out_of_fold_scores(y, group_folds(n, groups, 3, seed=0))
    assert (oof == 0).all()
    # the check can fail: with row-random folds the memoriser sees held-out prompts
    leaky = member.out_of_fold_scores(y, (np.arange(n) // 7) % 3)
    assert (leaky == 1).all()


def test_row_parameters_are_subset_with_the_rows():
    seen = {}

    class GroupSpy(Memoriser):
        def fit(self, X, y, groups=None):
            seen.setdefault("groups", []).append(np.asarray(groups))
            assert len(groups) == len(X) and np.array_equal(groups, X[:, 1])
            return super().fit(X, y)

    n = 60
    groups = np.arange(n) % 5
    X = np.column_stack([np.arange(n), groups])
    Member("spy", GroupSpy(), X, X, fit_params={"groups": groups}).out_of_fold_scores(
        (np.arange(n) // 3) % 2, group_folds(n, groups, 5, seed=0))
    assert len(seen["groups"]) == 5


def test_meta_learner_weights_the_informative_member_and_uses_length():
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.integers(0, 2, n)
    lengths = rng.integers(20, 800, n)
    long_text = lengths > 200
    good_on_long = np.where(long_text, y + rng.normal(0, 0.3, n), rng.normal(0, 1, n))  # useless on short texts
    good_on_short = np.where(~long_text, y + rng.normal(0, 0.3, n), y + rng.normal(0, 2.0, n))
    noise = rng.normal(0, 1, n)
    scores = np.column_stack([good_on_long, good_on_short, noise])
    plain = StackedBlend(length_interaction=False).fit(scores, y, lengths)
    assert abs(plain.model_.coef_[0, 2]) < 0.2 * min(plain.model_.coef_[0, :2])
    with_length = StackedBlend(length_interaction=True).fit(scores, y, lengths)
    auc_plain = roc_auc_score(y, plain.predict_proba(scores, lengths)[:, 1])
    auc_length = roc_auc_score(y, with_length.predict_proba(scores, lengths)[:, 1])
    assert auc_length > auc_plain + 0.01


def test_stacked_scores_end_to_end_on_honest_members():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    n, m = 400, 100
    y, y_test = rng.integers(0, 2, n), rng.integers(0, 2, m)
    X = np.column_stack([y + rng.normal(0, 1, n), rng.normal(0, 1, n)])
    X_test = np.column_stack([y_test + rng.normal(0, 1, m), rng.normal(0, 1, m)])
    members = [Member("a", LogisticRegression(), X[:, :1], X_test[:, :1]),
               Member("b", LogisticRegression(), X[:, 1:], X_test[:, 1:])]
    tests = [mem.test_scores(y) for mem in members]
    out = stacked_scores(members, y, np.arange(n) % 8, np.full(n, 300), np.full(m, 300), seed=0)
    assert out.shape == (m,) and ((0 <= out) & (out <= 1)).all()
    assert roc_auc_score(y_test, out) == pytest.approx(roc_auc_score(y_test, tests[0]), abs=0.02)
