"""The learned blend: prompt-disjoint folds, out-of-fold scores that never saw their row, and the meta-learner."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score

from daigt.folds import group_folds
from daigt.stacking import Member, StackedBlend, StackRows, stacked_scores


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
    split = StackRows(group_folds(n, np.arange(n) % 8, 4, seed=0))
    out = stacked_scores(members, y, split, np.full(n, 300), np.full(m, 300), seed=0)
    assert out.shape == (m,) and ((0 <= out) & (out <= 1)).all()
    assert roc_auc_score(y_test, out) == pytest.approx(roc_auc_score(y_test, tests[0]), abs=0.02)


def test_meta_rows_are_scored_by_members_fitted_on_every_other_fold_row():
    fitted_on = []

    class SizeSpy(Memoriser):
        def fit(self, X, y):
            fitted_on.append(len(X))
            return super().fit(X, y)

    n = 90
    groups = np.arange(n) % 6
    X = np.column_stack([np.arange(n), groups])
    y = (np.arange(n) // 2) % 2
    folds = group_folds(n, groups, 3, seed=0)
    rows = np.arange(0, n, 5)
    oof = Member("spy", SizeSpy(), X, X).out_of_fold_scores(y, folds, rows)
    assert oof.shape == (len(rows),) and (oof == 0).all()  # no row, no prompt of its own fold
    assert fitted_on == [int((folds != k).sum()) for k in np.unique(folds[rows])]


def test_meta_learner_uses_similarity_to_pick_the_member_for_unfamiliar_texts():
    rng = np.random.default_rng(2)
    n = 3000
    y = rng.integers(0, 2, n)
    similarity = rng.uniform(0, 1, n)
    familiar = similarity > 0.5
    ngram_like = np.where(familiar, y + rng.normal(0, 0.3, n), rng.normal(0, 1, n))
    lm_like = y + rng.normal(0, 1.0, n)
    scores = np.column_stack([ngram_like, lm_like])
    lengths = np.full(n, 300)
    plain = StackedBlend(length_interaction=False).fit(scores, y, lengths)
    aware = StackedBlend(length_interaction=False).fit(scores, y, lengths, similarity)
    auc_plain = roc_auc_score(y, plain.predict_proba(scores, lengths)[:, 1])
    auc_aware = roc_auc_score(y, aware.predict_proba(scores, lengths, similarity)[:, 1])
    assert auc_aware > auc_plain + 0.01
    assert aware.model_.coef_[0, 2] > 0  # the n-gram member's weight grows with similarity
    with pytest.raises(ValueError, match="similarity"):
        aware.predict_proba(scores, lengths)


def test_blocks_rank_each_fold_on_its_own():
    y = np.array([0, 1] * 50)
    shift = np.repeat([0.0, 10.0], 50)  # the second block's scores are all higher: pooled ranks mix the offset in
    scores = (y + shift + np.linspace(0, 0.1, 100))[:, None]
    blocks = np.repeat([0, 1], 50)
    blend = StackedBlend(length_interaction=False).fit(scores, y, np.full(100, 300), blocks=blocks)
    design = blend._design(scores, np.full(100, 300), None, blocks)
    assert np.allclose(design[:50], design[50:])
